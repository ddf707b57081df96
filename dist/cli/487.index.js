export const id = 487;
export const ids = [487];
export const modules = {

/***/ 1487:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  rehearseRelease: () => (/* binding */ rehearseRelease),
  releaseSummary: () => (/* binding */ releaseSummary)
});

// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(1455);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: ./src/lib/command/invoke.ts
var invoke = __webpack_require__(5197);
// EXTERNAL MODULE: ./src/lib/manifest/bundle.ts
var manifest_bundle = __webpack_require__(3229);
// EXTERNAL MODULE: ./src/lib/manifest/keys.ts
var keys = __webpack_require__(5913);
// EXTERNAL MODULE: ./src/lib/progress.ts
var progress = __webpack_require__(6300);
// EXTERNAL MODULE: ./src/lib/fs/atomic.ts
var atomic = __webpack_require__(1646);
;// CONCATENATED MODULE: ./src/lib/release/state.ts



const STATE_FILE = 'release-state.json';
async function readState(workDir) {
    try {
        return JSON.parse(await (0,promises_.readFile)((0,external_node_path_.join)(workDir, STATE_FILE), 'utf8'));
    }
    catch {
        return {};
    }
}
async function writeState(workDir, state) {
    await (0,atomic/* writeFileAtomic */.Z)((0,external_node_path_.join)(workDir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}
/** True when `record` still describes the file on disk and the image it came from. */
async function isUnchanged(record, imageId, path) {
    if (!record || record.imageId !== imageId || record.path !== path)
        return false;
    const [file, sidecar] = await Promise.all([
        (0,promises_.stat)(path).catch(() => undefined),
        (0,promises_.stat)(`${path}.sha256`).catch(() => undefined),
    ]);
    return Boolean(file && sidecar && file.size === record.sizeBytes && file.mtimeMs === record.mtimeMs);
}

;// CONCATENATED MODULE: ./src/lib/release/pipeline.ts







async function timed(timings, step, fn) {
    const started = performance.now();
    try {
        return await fn();
    }
    finally {
        timings[step] = Math.round(performance.now() - started);
    }
}
/** Prefixes a step's failure with the step, so the one error says where the release stopped. */
async function step(name, fn) {
    try {
        return await fn();
    }
    catch (error) {
        const wrapped = new Error(`${name}: ${error.message}`);
        Object.assign(wrapped, { cause: error, name: error.name });
        throw wrapped;
    }
}
/**
 * build-tarball → smoke-tarball for every agent, then every agent's slice
 * published at once (as parallel release jobs would), then a fresh cache
 * hydrated from the published manifest. Stops at the first failing step.
 */
async function rehearseRelease(steps, o, ctx) {
    const { bundle } = await (0,manifest_bundle/* readBundle */.B)(o.bundlePath);
    const distDir = (0,external_node_path_.join)(o.workDir, 'dist');
    const outputDir = (0,external_node_path_.join)(distDir, 'images');
    const state = await readState(o.workDir);
    const timings = { build: 0, smoke: 0, publish: 0, hydrate: 0 };
    const agents = [];
    const built = new Map();
    await timed(timings, 'build', () => ctx.log.group('build-tarball', async () => {
        for (const agent of bundle.agents) {
            const id = `${agent.name}/${o.arch}`;
            const path = (0,external_node_path_.join)(outputDir, (0,keys/* tarballBasename */.bU)(agent.name, agent.version, o.arch, o.compression));
            const imageId = await o.imageId(`${agent.image}:${agent.version}`);
            const record = state[id];
            if (imageId && record && (await isUnchanged(record, imageId, path))) {
                ctx.log.info(`${id}: image ${imageId.slice(0, 12)} unchanged since ${path} was built and smoke-tested`);
                agents.push({
                    agent: agent.name,
                    ...record,
                    build: 'unchanged',
                    smoke: 'skipped (unchanged)',
                    upload: 'uploaded',
                });
                continue;
            }
            const out = await step(`build-tarball ${id}`, () => (0,invoke/* invoke */.l)(steps.build, {
                agent: agent.name,
                arch: o.arch,
                bundle: o.bundlePath,
                'output-dir': outputDir,
                compression: o.compression,
                pull: o.localImages ? 'never' : 'missing',
                podman: o.podman,
            }, ctx));
            const { outputs } = out;
            agents.push({
                agent: agent.name,
                key: outputs.key ?? '',
                path: outputs.path ?? path,
                sha256: outputs.sha256 ?? '',
                sizeBytes: Number(outputs['size-bytes']),
                build: 'built',
                smoke: 'passed',
                upload: 'uploaded',
            });
            built.set(id, { imageId: outputs['image-id'] ?? '', path: outputs.path ?? path });
        }
    }));
    await timed(timings, 'smoke', () => ctx.log.group('smoke-tarball', async () => {
        for (const report of agents.filter((a) => a.build === 'built')) {
            const id = `${report.agent}/${o.arch}`;
            const smoke = o.smoke(report.agent);
            await step(`smoke-tarball ${id}`, () => (0,invoke/* invoke */.l)(steps.smoke, {
                tarball: report.path,
                agent: report.agent,
                arch: o.arch,
                bundle: o.bundlePath,
                command: smoke.command,
                expect: smoke.expect,
                podman: o.podman,
            }, ctx));
            // Recorded only once smoke-tested: a tarball that failed is rebuilt next time.
            const { imageId, path } = built.get(id) ?? { imageId: '', path: report.path };
            state[id] = {
                imageId,
                path,
                key: report.key,
                sha256: report.sha256,
                sizeBytes: report.sizeBytes,
                mtimeMs: (await (0,promises_.stat)(path)).mtimeMs,
            };
        }
        await writeState(o.workDir, state);
    }));
    let manifestEtag = '';
    await timed(timings, 'publish', () => ctx.log.group('publish (one slice per agent, all at once)', async () => {
        const results = await Promise.all(agents.map((report) => step(`publish agents:${report.agent}`, () => (0,invoke/* invoke */.l)(steps.publish, {
            ...o.store,
            bundle: o.bundlePath,
            'dist-dir': distDir,
            slice: `agents:${report.agent}`,
            arches: o.arch,
            'allow-empty-baseline': 'true',
        }, ctx))));
        results.forEach((result, i) => {
            const uploaded = JSON.parse(result.outputs.uploaded ?? '[]');
            const report = agents[i];
            const tarball = uploaded.find((u) => u.key === report?.key);
            if (report)
                report.upload = tarball?.skipped ? 'already there' : 'uploaded';
        });
        // Each publisher reports the ETag it wrote or saw; only a fresh read knows which came last.
        manifestEtag = await o.manifestEtag();
    }));
    let downloaded = [];
    const manifestUrl = o.manifestUrl;
    if (manifestUrl) {
        await timed(timings, 'hydrate', () => ctx.log.group(`hydrate-cache from ${manifestUrl}`, async () => {
            const { outputs } = await step('hydrate-cache', () => (0,invoke/* invoke */.l)(steps.hydrate, { 'manifest-url': manifestUrl, 'cache-dir': o.cacheDir, arch: o.arch }, ctx));
            downloaded = JSON.parse(outputs.downloaded ?? '[]');
        }));
    }
    return { agents, manifestEtag, downloaded, hydrated: Boolean(manifestUrl), timings };
}
function vmLine(vm) {
    if (!vm)
        return 'vm: not booted (vm: false, or not a file:// store)';
    const seen = [
        vm.fetchedManifest
            ? 'read the published manifest through its one allowed endpoint'
            : 'could NOT read the published manifest through its allowed endpoint',
        vm.hostLoopbackRefused ? 'host loopback refused' : "REACHED the host's loopback",
    ];
    const gate = `sandbox gate ${vm.gate.verdict} (${vm.gate.probes} probes, ${vm.gate.escapes} escapes; ${vm.gate.report})`;
    return `vm: default guest ready in ${(vm.bootMs / 1000).toFixed(1)} s (${vm.accel}); ${seen.join('; ')}; ${gate}; deleted`;
}
function releaseSummary(report, where) {
    const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
    const t = report.timings;
    return {
        heading: 'Release rehearsal',
        lines: [
            `build ${seconds(t.build)}, smoke ${seconds(t.smoke)}, publish ${seconds(t.publish)}, hydrate ${seconds(t.hydrate)}${t.vm === undefined ? '' : `, vm ${seconds(t.vm)}`}`,
            `bucket: ${where.bucket} (manifest ${keys/* MANIFEST_KEY */.mk}, ETag ${report.manifestEtag})`,
            report.hydrated
                ? `cache: ${where.cacheDir} (${report.downloaded.length ? `downloaded ${report.downloaded.length}` : 'already up to date'})`
                : 'cache: not hydrated (give manifest-url to hydrate from an s3:// store)',
            vmLine(report.vm),
        ],
        table: {
            header: ['Agent', 'Key', 'Size', 'sha256', 'Build', 'Smoke', 'Upload', 'Cache'],
            rows: report.agents.map((a) => [
                a.agent,
                a.key,
                (0,progress/* formatBytes */.z)(a.sizeBytes),
                a.sha256,
                a.build,
                a.smoke,
                a.upload,
                !report.hydrated ? '-' : report.downloaded.includes(a.key) ? 'downloaded' : 'up to date',
            ]),
        },
    };
}


/***/ })

};
