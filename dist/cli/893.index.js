export const id = 893;
export const ids = [893];
export const modules = {

/***/ 3893:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  prepareSample: () => (/* binding */ prepareSample)
});

// UNUSED EXPORTS: SAMPLE_AGENTS

// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: ./src/lib/fs/atomic.ts
var atomic = __webpack_require__(1646);
// EXTERNAL MODULE: external "node:child_process"
var external_node_child_process_ = __webpack_require__(1421);
// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(1455);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(8161);
// EXTERNAL MODULE: ./src/lib/manifest/arch.ts
var arch = __webpack_require__(613);
// EXTERNAL MODULE: ./src/lib/tarball/compress.ts
var compress = __webpack_require__(1092);
;// CONCATENATED MODULE: ./src/lib/tarball/sample-image.ts






const APPLETS = ['sh', 'echo', 'cat', 'ls', 'sleep', 'uname', 'env', 'true', 'false', 'head'];
/**
 * Builds a small runnable agent image with no registry: a root filesystem with a
 * static busybox and its applet links, imported with `podman import`.
 */
async function buildSampleImage(podman, o) {
    const busybox = o.busybox ?? (await (0,compress/* findExecutable */.oq)('busybox')) ?? '/bin/busybox';
    const root = await (0,promises_.mkdtemp)((0,external_node_path_.join)((0,external_node_os_.tmpdir)(), 'vm-tools-rootfs-'));
    try {
        await (0,promises_.mkdir)((0,external_node_path_.join)(root, 'bin'), { recursive: true });
        for (const dir of ['tmp', 'etc', 'proc', 'sys', 'dev'])
            await (0,promises_.mkdir)((0,external_node_path_.join)(root, dir));
        await (0,promises_.copyFile)(busybox, (0,external_node_path_.join)(root, 'bin', 'busybox'));
        await (0,promises_.chmod)((0,external_node_path_.join)(root, 'bin', 'busybox'), 0o755);
        for (const applet of APPLETS)
            await (0,promises_.symlink)('busybox', (0,external_node_path_.join)(root, 'bin', applet));
        for (const [path, content] of Object.entries(o.extraFiles ?? {})) {
            const target = (0,external_node_path_.join)(root, path.replace(/^\/+/, ''));
            await (0,promises_.mkdir)((0,external_node_path_.dirname)(target), { recursive: true });
            await (0,promises_.writeFile)(target, content);
            const text = typeof content === 'string' ? content : '';
            if (text.startsWith('#!'))
                await (0,promises_.chmod)(target, 0o755);
        }
        const tar = (0,external_node_child_process_.spawn)('tar', ['-C', root, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
        const exited = new Promise((resolve) => tar.on('close', (c) => resolve(c ?? 1)));
        const id = await podman.importImage(tar.stdout, {
            ref: o.ref,
            arch: o.arch ? (0,arch/* ociArchOf */.TY)(o.arch) : undefined,
            changes: [`CMD ${JSON.stringify(o.cmd ?? ['/bin/sh'])}`, 'ENV PATH=/bin'],
        });
        if ((await exited) !== 0)
            throw new Error('tar of the sample root filesystem failed');
        return id;
    }
    finally {
        await (0,promises_.rm)(root, { recursive: true, force: true });
    }
}

;// CONCATENATED MODULE: ./src/lib/release/sample.ts



/**
 * Two small agents built locally from a static busybox, so a release can be
 * rehearsed end to end with no registry and no credentials. Their version is
 * part of the image tag: an existing image is reused, which keeps re-runs from
 * rebuilding (and re-hashing) anything.
 */
const SAMPLE_AGENTS = [
    { name: 'hello-agent', image: 'localhost/vm-tools-sample/hello-agent', version: '1.0.0' },
    { name: 'echo-agent', image: 'localhost/vm-tools-sample/echo-agent', version: '1.0.0' },
];
/** What the sample agent prints when it starts: the smoke test's expectation. */
function sampleSmoke(name, version) {
    return { command: '/agent', expect: `^${name} ${version.replaceAll('.', '\\.')} ready` };
}
function agentScript(name, version) {
    return `#!/bin/sh\necho "${name} ${version} ready on $(uname -m)"\n`;
}
/** Writes the sample bundle into `dir` and makes sure both sample images exist. */
async function prepareSample(dir, podman, arch) {
    const bundlePath = (0,external_node_path_.join)(dir, 'bundle.json');
    const bundle = {
        agents: SAMPLE_AGENTS.map(({ name, image, version }) => ({ name, image, version })),
    };
    await (0,atomic/* writeFileAtomic */.Z)(bundlePath, `${JSON.stringify(bundle, null, 2)}\n`);
    const built = [];
    const smoke = {};
    for (const agent of SAMPLE_AGENTS) {
        const ref = `${agent.image}:${agent.version}`;
        smoke[agent.name] = sampleSmoke(agent.name, agent.version);
        if (await podman.imageExists(ref))
            continue;
        await buildSampleImage(podman, {
            ref,
            arch,
            extraFiles: { '/agent': agentScript(agent.name, agent.version) },
            cmd: ['/agent'],
        });
        built.push(ref);
    }
    return { bundlePath, built, smoke };
}


/***/ })

};
