import { execFile } from 'node:child_process';
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../src/lib/fs/hash.js';
import { findExecutable } from '../../src/lib/tarball/compress.js';
import { buildSampleImage } from '../../src/lib/tarball/sample-image.js';
import {
  containersMatching,
  imagesMatching,
  podman,
  removeImages,
  uniqueImage,
} from '../support/podman.js';
import { runActionBundle } from '../support/runner.js';

const exec = promisify(execFile);
const VERSION = '1.0.0';
const image = uniqueImage('agent');
const armImage = uniqueImage('armagent');
const bigImage = uniqueImage('big');
const ghostImage = uniqueImage('ghost');
const ref = `${image}:${VERSION}`;
let dir: string;
let realPodman: string;
const mounts: string[] = [];

async function buildAgentImage(): Promise<void> {
  await buildSampleImage(podman, {
    ref,
    extraFiles: { '/bin/agent': '#!/bin/sh\necho "agent ok $(uname -m)"\n' },
  });
}

/** A podman wrapper: records each argv (one line per call) and runs the real podman. */
async function recordingPodman(name: string, body = ''): Promise<{ bin: string; log: string }> {
  const bin = join(dir, name);
  const log = join(dir, `${name}.argv`);
  await writeFile(
    bin,
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\n${body}\nexec '${realPodman}' "$@"\n`,
  );
  await chmod(bin, 0o755);
  return { bin, log };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function tmpfs(options: string): Promise<string> {
  const mount = await mkdtemp(join(tmpdir(), 'vm-tools-tmpfs-'));
  await exec('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', mount]);
  mounts.push(mount);
  return mount;
}

beforeAll(async () => {
  realPodman = (await findExecutable('podman')) ?? 'podman';
  dir = await mkdtemp(join(tmpdir(), 'vm-tools-tarball-e2e-'));
  await buildAgentImage();
  await buildSampleImage(podman, { ref: `${armImage}:${VERSION}`, arch: 'arm64' });
  await writeFile(
    join(dir, 'bundle.json'),
    JSON.stringify({
      agents: [
        { name: 'demo', image, version: VERSION },
        { name: 'armagent', image: armImage, version: VERSION },
        { name: 'big', image: bigImage, version: VERSION },
        { name: 'ghost', image: ghostImage, version: VERSION },
        { name: 'renamed', image, version: '9.9.9' },
      ],
    }),
  );
});

afterAll(async () => {
  for (const mount of mounts) {
    await exec('umount', [mount]).catch(() => {});
    await rm(mount, { recursive: true, force: true });
  }
  for (const name of [image, armImage, bigImage, ghostImage]) await removeImages(name);
  await rm(dir, { recursive: true, force: true });
});

describe('build-tarball → smoke-tarball through the built actions (real podman)', () => {
  const out = () => join(dir, 'out');
  const built: Record<string, Record<string, string>> = {};

  for (const compression of ['gzip', 'zstd'] as const) {
    it(`builds a ${compression} tarball in one pass with a sidecar and the outputs`, async () => {
      if (!(await podman.imageExists(ref))) await buildAgentImage();
      const run = await runActionBundle('build-tarball', {
        cwd: dir,
        inputs: { agent: 'demo', arch: 'x64', 'output-dir': 'out', compression },
      });
      expect(run.errors).toEqual([]);
      expect(run.exitCode).toBe(0);
      const ext = compression === 'gzip' ? '.tar.gz' : '.tar.zst';
      const path = join(out(), `demo-${VERSION}-x64${ext}`);
      const digest = await sha256File(path);
      const info = await podman.inspectImage(ref);
      expect(run.outputs).toEqual({
        path,
        key: `vm/images/demo-${VERSION}-x64${ext}`,
        sha256: digest.sha256,
        'size-bytes': String(digest.sizeBytes),
        'image-id': info.id,
        'image-ref': ref,
      });
      expect(await readFile(`${path}.sha256`, 'utf8')).toBe(
        `${digest.sha256}  demo-${VERSION}-x64${ext}\n`,
      );
      const magic = (await readFile(path)).subarray(0, 4).toString('hex');
      expect(magic.startsWith(compression === 'gzip' ? '1f8b' : '28b52ffd')).toBe(true);
      expect((await readdir(out())).filter((f) => f.endsWith('.partial'))).toEqual([]);
      expect(run.summary).toContain(`vm/images/demo-${VERSION}-x64${ext}`);
      built[compression] = run.outputs;
    });
  }

  for (const compression of ['gzip', 'zstd'] as const) {
    it(`loads the ${compression} tarball into the installed podman and runs the agent`, async () => {
      const { stdout: version } = await exec('podman', [
        'version',
        '--format',
        '{{.Client.Version}}',
      ]);
      // The image must come from the tarball, not from the build.
      await podman.removeImage(ref, { force: true }).catch(() => {});
      expect(await imagesMatching(image)).toEqual([]);
      const tarball = built[compression]?.path as string;
      const run = await runActionBundle('smoke-tarball', {
        cwd: dir,
        inputs: {
          tarball,
          agent: 'demo',
          arch: 'x64',
          command: '/bin/agent',
          expect: '^agent ok x86_64$',
          'keep-image': compression === 'zstd' ? 'true' : 'false',
        },
      });
      expect(run.errors, `podman ${version.trim()}`).toEqual([]);
      expect(run.exitCode).toBe(0);
      expect(run.outputs['loaded-ref']).toBe(ref);
      expect(run.outputs['image-id']).toBe(built[compression]?.['image-id']);
      expect(Number(run.outputs['duration-ms'])).toBeGreaterThan(0);
      expect(run.summary).toContain('passed');
      expect(await containersMatching(image)).toEqual([]);
      // keep-image: true keeps it; the default removes it.
      expect(await imagesMatching(image)).toEqual(compression === 'zstd' ? [ref] : []);
    });
  }

  it('loads without running anything when no command is given', async () => {
    await podman.removeImage(ref, { force: true }).catch(() => {});
    const recorder = await recordingPodman('podman-load-only');
    const run = await runActionBundle('smoke-tarball', {
      cwd: dir,
      inputs: {
        tarball: built.gzip?.path as string,
        agent: 'demo',
        arch: 'x64',
        podman: recorder.bin,
      },
    });
    expect(run.errors).toEqual([]);
    expect(run.outputs['loaded-ref']).toBe(ref);
    expect(run.summary).toContain('(load only)');
    const calls = (await readFile(recorder.log, 'utf8')).trim().split('\n');
    expect(calls.some((c) => c.startsWith('load'))).toBe(true);
    expect(calls.filter((c) => /^(create|run|start|exec|container )/.test(c))).toEqual([]);
    expect(await containersMatching(image)).toEqual([]);
    expect(await imagesMatching(image)).toEqual([]);
  });

  it('leaves an image the machine already had under that name', async () => {
    const inputs = { tarball: built.gzip?.path as string, agent: 'demo', arch: 'x64' };
    await runActionBundle('smoke-tarball', {
      cwd: dir,
      inputs: { ...inputs, 'keep-image': 'true' },
    });
    const before = await podman.inspectImage(ref);
    const run = await runActionBundle('smoke-tarball', { cwd: dir, inputs });
    expect(run.errors).toEqual([]);
    expect(await imagesMatching(image)).toEqual([ref]);
    expect((await podman.inspectImage(ref)).id).toBe(before.id);
    await podman.removeImage(ref, { force: true });
  });

  it('runs podman through `limactl shell --tty=false VM -- podman` when vm is given', async () => {
    // A stand-in limactl: records its argv, drops `shell --tty=false VM --` and runs the rest.
    const bin = join(dir, 'lima-bin');
    await mkdir(bin, { recursive: true });
    const log = join(dir, 'limactl.argv');
    await writeFile(
      join(bin, 'limactl'),
      `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\n[ "$1 $2 $4" = "shell --tty=false --" ] || exit 99\nshift 4\nexec "$@"\n`,
    );
    await chmod(join(bin, 'limactl'), 0o755);
    const run = await runActionBundle('smoke-tarball', {
      cwd: dir,
      env: { PATH: `${bin}:${process.env.PATH}` },
      inputs: {
        tarball: built.gzip?.path as string,
        agent: 'demo',
        arch: 'x64',
        command: '/bin/agent',
        vm: 'agents',
      },
    });
    expect(run.errors).toEqual([]);
    const calls = (await readFile(log, 'utf8')).trim().split('\n');
    expect(calls.every((c) => c.startsWith('shell --tty=false agents -- podman '))).toBe(true);
    expect(calls).toContain('shell --tty=false agents -- podman load');
    expect(await imagesMatching(image)).toEqual([]);
  });

  it('fails a tampered tarball with "sha256 mismatch" and loads nothing', async () => {
    const tampered = join(dir, 'tampered');
    await mkdir(tampered, { recursive: true });
    const source = built.gzip?.path as string;
    const target = join(tampered, `demo-${VERSION}-x64.tar.gz`);
    await copyFile(source, target);
    await copyFile(`${source}.sha256`, `${target}.sha256`);
    const bytes = await readFile(target);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] as number) ^ 0xff;
    await writeFile(target, bytes);
    const run = await runActionBundle('smoke-tarball', {
      cwd: dir,
      inputs: { tarball: target, agent: 'demo', arch: 'x64', command: 'true' },
    });
    expect(run.exitCode).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(
      new RegExp(
        `^sha256 mismatch for demo-${VERSION}-x64\\.tar\\.gz: sidecar says ${built.gzip?.sha256}, file is [0-9a-f]{64}$`,
      ),
    );
    expect(await imagesMatching(image)).toEqual([]);
  });

  const mismatches: Array<[string, Record<string, string>, string]> = [
    [
      'another architecture than expected',
      { agent: 'demo', arch: 'arm64' },
      `loaded image ${ref} is linux/amd64, not linux/arm64`,
    ],
    [
      'another image:version than the bundle names',
      { agent: 'renamed', arch: 'x64' },
      `the tarball loaded ${ref}, not ${image}:9.9.9`,
    ],
  ];
  for (const [what, inputs, message] of mismatches) {
    it(`fails a tarball holding ${what} and removes what it loaded`, async () => {
      const run = await runActionBundle('smoke-tarball', {
        cwd: dir,
        inputs: { tarball: built.gzip?.path as string, command: 'true', ...inputs },
      });
      expect(run.exitCode).toBe(1);
      expect(run.errors).toEqual([message]);
      expect(await imagesMatching(image)).toEqual([]);
      expect(await containersMatching(image)).toEqual([]);
    });
  }

  const failures: Array<[string, Record<string, string>, RegExp]> = [
    [
      'a command that exits non-zero',
      { command: 'sh\n-c\necho before-fail; echo oops >&2; exit 3' },
      /^command exited with code 3; output tail:\nbefore-fail\noops$/,
    ],
    [
      'output that does not match expect',
      { command: 'echo hello', expect: '^goodbye$' },
      /^output does not match \/\^goodbye\$\/; output tail:\nhello$/,
    ],
    [
      'a command that hangs past the timeout',
      { command: 'sh\n-c\necho started; sleep 60', 'timeout-seconds': '2' },
      /^command timed out after 2 s; output tail:\nstarted$/,
    ],
  ];
  for (const [what, inputs, message] of failures) {
    it(`fails ${what} with the output tail and leaves no container or image`, async () => {
      const run = await runActionBundle('smoke-tarball', {
        cwd: dir,
        inputs: { tarball: built.gzip?.path as string, agent: 'demo', arch: 'x64', ...inputs },
      });
      expect(run.exitCode).toBe(1);
      expect(run.errors).toHaveLength(1);
      expect(run.errors[0]).toMatch(message);
      expect(await containersMatching(image)).toEqual([]);
      expect(await imagesMatching(image)).toEqual([]);
      if (what.includes('hangs')) expect(run.durationMs).toBeLessThan(30_000);
    });
  }
});

describe('build-tarball refuses before saving and never leaves a .partial', () => {
  async function expectNothingWritten(outDir: string): Promise<void> {
    const files = (await exists(outDir)) ? await readdir(outDir) : [];
    expect(files).toEqual([]);
  }

  it('refuses an image of the wrong architecture before saving', async () => {
    const recorder = await recordingPodman('podman-arch');
    const outDir = join(dir, 'arch-out');
    const run = await runActionBundle('build-tarball', {
      cwd: dir,
      inputs: { agent: 'armagent', arch: 'x64', 'output-dir': outDir, podman: recorder.bin },
    });
    expect(run.exitCode).toBe(1);
    expect(run.errors).toEqual([
      `image ${armImage}:${VERSION} is linux/arm64, not linux/amd64 (arch "x64"); refusing to save it`,
    ]);
    await expectNothingWritten(outDir);
    const calls = (await readFile(recorder.log, 'utf8')).split('\n');
    expect(calls.some((c) => c.startsWith('save'))).toBe(false);
  });

  it('passes references to podman only after "--" (recorded argv)', async () => {
    if (!(await podman.imageExists(ref))) await buildAgentImage();
    const recorder = await recordingPodman('podman-argv');
    const outDir = join(dir, 'argv-out');
    const run = await runActionBundle('build-tarball', {
      cwd: dir,
      inputs: { agent: 'demo', arch: 'x64', 'output-dir': outDir, podman: recorder.bin },
    });
    expect(run.errors).toEqual([]);
    const calls = (await readFile(recorder.log, 'utf8')).trim().split('\n');
    expect(calls).toEqual([
      `image exists -- ${ref}`,
      `image inspect -- ${ref}`,
      `save --format=oci-archive --uncompressed -- ${ref}`,
    ]);
  });

  it('builds from a containerfile (podman build --platform) instead of pulling', async () => {
    if (!(await podman.imageExists(ref))) await buildAgentImage();
    const context = join(dir, 'context');
    await mkdir(context, { recursive: true });
    await writeFile(join(context, 'hello.txt'), 'built by podman build\n');
    await writeFile(join(context, 'Containerfile'), `FROM ${ref}\nCOPY hello.txt /hello.txt\n`);
    const builtImage = uniqueImage('built');
    try {
      const run = await runActionBundle('build-tarball', {
        cwd: dir,
        inputs: {
          agent: 'demo',
          arch: 'x64',
          image: builtImage,
          containerfile: 'context/Containerfile',
          context: 'context',
          'output-dir': 'built-out',
          compression: 'zstd',
        },
      });
      expect(run.errors).toEqual([]);
      expect(run.outputs['image-ref']).toBe(`${builtImage}:${VERSION}`);
      expect(run.outputs.path).toBe(join(dir, 'built-out', `demo-${VERSION}-x64.tar.zst`));
      expect((await podman.inspectImage(`${builtImage}:${VERSION}`)).id).toBe(
        run.outputs['image-id'],
      );
    } finally {
      await removeImages(builtImage);
    }
  });

  const badInputs: Array<[string, Record<string, string>, string]> = [
    [
      'an unknown agent',
      { agent: 'nope', arch: 'x64' },
      'agent "nope" is not in BUNDLE (agents: demo, armagent, big, ghost, renamed)',
    ],
    [
      'a bad arch',
      { agent: 'demo', arch: 'x86' },
      'Input "arch" must be one of arm64, x64; got "x86".',
    ],
    [
      'an image with shell metacharacters',
      { agent: 'demo', arch: 'x64', image: 'localhost/x;touch$(id)|sh' },
      'Input "image" must be an image reference without tag, like ghcr.io/org/name; got "localhost/x;touch$(id)|sh".',
    ],
    [
      'an image that starts with "-"',
      { agent: 'demo', arch: 'x64', image: '--help' },
      'Input "image" must be an image reference without tag, like ghcr.io/org/name; got "--help".',
    ],
    [
      'a version that starts with "-"',
      { agent: 'demo', arch: 'x64', version: '-v' },
      'Input "version" must be an image tag ([A-Za-z0-9_][A-Za-z0-9_.-]*); got "-v".',
    ],
  ];
  for (const [what, inputs, message] of badInputs) {
    it(`rejects ${what} with one sentence; podman never runs`, async () => {
      const recorder = await recordingPodman(
        `podman-bad-${badInputs.findIndex((b) => b[0] === what)}`,
      );
      const outDir = join(dir, `bad-out-${recorder.bin.slice(-1)}`);
      const run = await runActionBundle('build-tarball', {
        cwd: dir,
        inputs: { ...inputs, 'output-dir': outDir, podman: recorder.bin },
      });
      expect(run.exitCode).toBe(1);
      expect(run.errors).toEqual([message.replace('BUNDLE', join(dir, 'bundle.json'))]);
      expect(await exists(recorder.log)).toBe(false);
      await expectNothingWritten(outDir);
    });
  }

  it('rejects an output dir that is not writable; podman never runs', async () => {
    const readOnly = await tmpfs('ro,size=1m');
    const recorder = await recordingPodman('podman-ro');
    const outDir = join(readOnly, 'images');
    const run = await runActionBundle('build-tarball', {
      cwd: dir,
      inputs: { agent: 'demo', arch: 'x64', 'output-dir': outDir, podman: recorder.bin },
    });
    expect(run.exitCode).toBe(1);
    expect(run.errors).toEqual([`output-dir "${outDir}" is not writable: EROFS`]);
    expect(await exists(recorder.log)).toBe(false);
    expect(await readdir(readOnly)).toEqual([]);
  });

  it('removes the .partial when podman dies mid-save', async () => {
    if (!(await podman.imageExists(ref))) await buildAgentImage();
    // For `save`: pass on 200 KB of the real archive, then die by SIGKILL.
    const recorder = await recordingPodman(
      'podman-dies',
      `if [ "$1" = save ]; then '${realPodman}' "$@" | head -c 200000; kill -9 $$; fi`,
    );
    const outDir = join(dir, 'dies-out');
    const run = await runActionBundle('build-tarball', {
      cwd: dir,
      inputs: { agent: 'demo', arch: 'x64', 'output-dir': outDir, podman: recorder.bin },
    });
    expect(run.exitCode).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(new RegExp(`^${recorder.bin} save failed: exit code 128`));
    await expectNothingWritten(outDir);
  });

  it('removes the .partial when the disk fills up', async () => {
    await buildSampleImage(podman, {
      ref: `${bigImage}:${VERSION}`,
      // Random bytes do not compress: the tarball cannot fit in 1 MiB.
      extraFiles: { '/data/noise': (await import('node:crypto')).randomBytes(3 << 20) },
    });
    const full = await tmpfs('size=1m');
    const run = await runActionBundle('build-tarball', {
      cwd: dir,
      inputs: { agent: 'big', arch: 'x64', 'output-dir': full, compression: 'zstd' },
    });
    expect(run.exitCode).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain('ENOSPC');
    expect(await readdir(full)).toEqual([]);
  });

  it('fails an image that cannot be pulled, writing nothing', async () => {
    const outDir = join(dir, 'ghost-out');
    const never = await runActionBundle('build-tarball', {
      cwd: dir,
      inputs: { agent: 'ghost', arch: 'x64', 'output-dir': outDir, pull: 'never' },
    });
    expect(never.errors).toEqual([
      `image ${ghostImage}:${VERSION} is not present locally and pull is "never"`,
    ]);
    const missing = await runActionBundle('build-tarball', {
      cwd: dir,
      inputs: { agent: 'ghost', arch: 'x64', 'output-dir': outDir },
    });
    expect(missing.exitCode).toBe(1);
    expect(missing.errors[0]).toMatch(/^podman pull failed: /);
    await expectNothingWritten(outDir);
  });
});
