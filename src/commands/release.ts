import { appendFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from '../lib/command/errors.js';
import { boolean, oneOf, optional } from '../lib/command/inputs.js';
import { type Command, defineCommand, type InputReader } from '../lib/command/types.js';
import { ARCHES, type Arch, hostArch } from '../lib/manifest/arch.js';
import { MANIFEST_KEY } from '../lib/manifest/keys.js';
import type { SandboxReport } from '../lib/release/sandbox.js';
import bootVm from './boot-vm.js';
import buildTarball from './build-tarball.js';
import { hydrateCacheCli } from './hydrate-cache.js';
import publish from './publish.js';
import sandboxGate from './sandbox-gate.js';
import { parseStoreConfig, S3_CLIENT_INPUTS, STORE_INPUTS } from './shared/store-inputs.js';
import smokeTarball from './smoke-tarball.js';

const STORE_INPUT_NAMES = ['store', ...Object.keys(S3_CLIENT_INPUTS), 'timeout-seconds'] as const;

function parseArch(read: InputReader): Arch {
  const value = oneOf(read, 'arch', ['host', ...ARCHES] as const, 'host');
  if (value !== 'host') return value;
  try {
    return hostArch();
  } catch (error) {
    throw new InputError((error as Error).message);
  }
}

export default defineCommand({
  name: 'release',
  description:
    'Rehearses a release on this machine: build-tarball and smoke-tarball for every agent, every slice published at once, then a fresh cache hydrated from the result. With no flags: two sample agents, a file:// bucket.',
  inputs: {
    bundle: {
      description:
        'A bundle.json to release (default: two sample agents built locally from busybox).',
    },
    'work-dir': {
      description: 'Where tarballs, the default bucket, the cache and the rehearsal state go.',
      default: '.vm-tools/release',
    },
    arch: { description: 'host, arm64 or x64.', default: 'host' },
    compression: { description: 'gzip or zstd.', default: 'gzip' },
    ...STORE_INPUTS,
    store: {
      description:
        'Object store: s3://BUCKET[/PREFIX] or file:///DIR (default: file://<work-dir>/bucket).',
    },
    'manifest-url': {
      description:
        'Where clients read the published manifest, to hydrate from (default for a file:// store: served on 127.0.0.1; an s3:// store without it is not hydrated).',
    },
    'cache-dir': { description: 'The cache to hydrate (default: <work-dir>/cache).' },
    command: {
      description:
        'Smoke-test command for a real bundle, one argument per line (default: load and check only).',
      multiline: true,
    },
    expect: { description: 'Regular expression the smoke-test output must match.' },
    podman: { description: 'The podman binary.', default: 'podman' },
    vm: {
      description:
        "Boot the default qemu guest allowed only the release's HTTP server, read the published manifest from inside it and check the host's loopback stays unreachable (file:// stores).",
      boolean: true,
      default: 'true',
    },
  },
  outputs: {
    'manifest-etag': 'ETag of the published manifest.',
    bucket: 'The store the release went to.',
    'cache-dir': 'The hydrated cache directory.',
    report:
      'JSON report: agents (key, sha256, size, what each step did), downloaded keys, step times.',
  },
  parse(read) {
    const workDir = resolve(optional(read, 'work-dir') ?? '.vm-tools/release');
    const storeValue = optional(read, 'store') ?? pathToFileURL(join(workDir, 'bucket')).href;
    const withStore: InputReader = (name) => (name === 'store' ? storeValue : read(name));
    const store = parseStoreConfig(withStore);
    const storeInputs: Record<string, string | undefined> = {};
    for (const name of STORE_INPUT_NAMES) storeInputs[name] = optional(withStore, name);
    const bundle = optional(read, 'bundle');
    return {
      workDir,
      bundle: bundle === undefined ? undefined : resolve(bundle),
      arch: parseArch(read),
      compression: oneOf(read, 'compression', ['gzip', 'zstd'] as const, 'gzip'),
      store,
      storeUrl: storeValue,
      storeInputs,
      manifestUrl: optional(read, 'manifest-url'),
      cacheDir: resolve(optional(read, 'cache-dir') ?? join(workDir, 'cache')),
      command: optional(read, 'command'),
      expect: optional(read, 'expect'),
      podman: optional(read, 'podman') ?? 'podman',
      vm: boolean(read, 'vm', true),
    };
  },
  async run(inputs, ctx) {
    const { createPodman } = await import('../lib/podman/index.js');
    const { prepareSample } = await import('../lib/release/sample.js');
    const { rehearseRelease, releaseSummary } = await import('../lib/release/pipeline.js');
    const podman = createPodman({ podman: inputs.podman });
    const sample =
      inputs.bundle === undefined
        ? await ctx.log.group('sample agents', () =>
            prepareSample(inputs.workDir, podman, inputs.arch),
          )
        : undefined;
    if (sample) {
      ctx.log.info(
        sample.built.length ? `built ${sample.built.join(', ')}` : 'sample images already present',
      );
    }
    // A file:// bucket is served over HTTP on loopback, so the cache is hydrated the way clients fetch it.
    let server: { url: string; close(): Promise<void> } | undefined;
    const controlLog = join(inputs.workDir, 'vm-control.log');
    let manifestUrl = inputs.manifestUrl;
    if (manifestUrl === undefined && inputs.store.kind === 'file') {
      const { startStaticServer } = await import('../lib/http/static-server.js');
      await mkdir(inputs.store.dir, { recursive: true });
      await writeFile(controlLog, '');
      // Every path the server answered: the gate's evidence that its controls arrived.
      const started = await startStaticServer(inputs.store.dir, {
        onRequest: (r) => appendFileSync(controlLog, `${r.path}\n`),
      });
      server = started;
      manifestUrl = `${started.url}${MANIFEST_KEY}`;
    }
    try {
      const report = await rehearseRelease(
        {
          build: buildTarball,
          smoke: smokeTarball,
          publish,
          hydrate: hydrateCacheCli as Command<unknown>,
        },
        {
          workDir: inputs.workDir,
          bundlePath: sample?.bundlePath ?? (inputs.bundle as string),
          localImages: sample !== undefined,
          arch: inputs.arch,
          compression: inputs.compression,
          podman: inputs.podman,
          store: inputs.storeInputs,
          manifestUrl,
          cacheDir: inputs.cacheDir,
          smoke: (agent) =>
            sample?.smoke[agent] ?? { command: inputs.command, expect: inputs.expect },
          manifestEtag: async () => {
            const { openStore } = await import('../lib/store/open.js');
            const head = await (await openStore(inputs.store)).head(MANIFEST_KEY);
            return head?.etag ?? '';
          },
          imageId: (ref) =>
            podman.inspectImage(ref).then(
              (i) => i.id,
              () => undefined,
            ),
        },
        ctx,
      );
      let vm: SandboxReport | undefined;
      const bucketDir = inputs.store.kind === 'file' ? inputs.store.dir : undefined;
      if (inputs.vm && server && bucketDir) {
        const { sandboxCheck } = await import('../lib/release/sandbox.js');
        const { sha256File } = await import('../lib/fs/hash.js');
        const url = new URL(server.url);
        const started = performance.now();
        vm = await ctx.log.group(
          'boot-vm + sandbox-gate (the default guest, allowed only this release)',
          async () =>
            sandboxCheck(
              {
                boot: bootVm,
                gate: sandboxGate,
                controlLog,
                gateReport: join(inputs.workDir, 'gate-report.json'),
                name: 'vm-tools-release',
                stateDir: join(inputs.workDir, 'vms'),
                server: { host: url.hostname, port: Number(url.port) },
                manifestPath: `/${MANIFEST_KEY}`,
                manifestSha256: (await sha256File(join(bucketDir, MANIFEST_KEY))).sha256,
              },
              ctx,
            ),
        );
        report.timings.vm = Math.round(performance.now() - started);
      }
      const full = { ...report, ...(vm ? { vm } : {}) };
      const summary = releaseSummary(full, { bucket: inputs.storeUrl, cacheDir: inputs.cacheDir });
      // The report first, then the failure: what the VM saw is the point.
      const failure = !vm
        ? undefined
        : !vm.fetchedManifest
          ? 'vm: the guest could not read the published manifest through its allowed endpoint'
          : !vm.hostLoopbackRefused
            ? "vm: the guest reached the host's loopback through 10.0.2.2; the VM is not confined"
            : vm.gate.failure;
      return {
        ...(failure ? { failure } : {}),
        outputs: {
          'manifest-etag': report.manifestEtag,
          bucket: inputs.storeUrl,
          'cache-dir': inputs.cacheDir,
          report: JSON.stringify(full),
        },
        summary,
      };
    } finally {
      await server?.close();
    }
  },
});
