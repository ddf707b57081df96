import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VmHandle, VmSpec } from '../../src/lib/vm/driver.js';
import { LimaDriver, type LimaDriverOptions, pingPodmanSocket } from '../../src/lib/vm/lima.js';

// limactl cannot be installed on the test machines: these tests drive the real
// driver against test/fixtures/limactl, a stand-in that keeps limactl 2.x's
// documented contract (root refusal, JSON lines, exit codes, DEGRADED starts)
// and records every command line it receives.
const LIMACTL = join(import.meta.dirname, '../fixtures/limactl/limactl');
const TEMPLATE = join(import.meta.dirname, '../../templates/lima/agent-vm.yaml');
const run = promisify(execFile);

let dir: string;
let argvLog: string;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vm-tools-lima-'));
  argvLog = join(dir, 'argv.log');
  env = {
    ...process.env,
    LIMA_HOME: join(dir, 'lima'),
    FAKE_LIMACTL_ARGV_LOG: argvLog,
    // The tests run as root; the stand-in refuses root like limactl unless told it is a user.
    FAKE_LIMACTL_AS_USER: '1',
    FAKE_LIMACTL_NODE: process.execPath,
  };
});

afterEach(async () => {
  // Any socket server a test left behind dies with its instance.
  const lima = new LimaDriver({ limactl: LIMACTL, env });
  for (const name of ['agent', 'degraded', 'broken']) {
    if (existsSync(join(dir, 'lima', name))) {
      await lima.delete({ name, backend: 'lima', state: {} }).catch(() => {});
    }
  }
  await rm(dir, { recursive: true, force: true });
}, 60_000);

const spec = (over: Partial<VmSpec> = {}): VmSpec => ({
  name: 'agent',
  backend: 'lima',
  accel: 'auto',
  cpus: 2,
  memoryMiB: 4096,
  allow: [],
  timeoutMs: 60_000,
  template: TEMPLATE,
  ...over,
});

const driver = (over: Partial<LimaDriverOptions> = {}) =>
  new LimaDriver({
    limactl: LIMACTL,
    env,
    uid: () => 1000,
    platform: 'linux',
    kvmPath: join(dir, 'no-kvm'),
    ...over,
  });

async function recorded(): Promise<string[][]> {
  const text = await readFile(argvLog, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string[]);
}

// Every step is a real process; on a loaded 2-core machine each one can take a second.
describe('LimaDriver preflight', { timeout: 60_000 }, () => {
  it('refuses root itself before running limactl at all', async () => {
    await expect(driver({ uid: () => 0 }).preflight(spec())).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('limactl: must not run as the root user'),
    });
    expect(existsSync(argvLog)).toBe(false);
  });

  it('the stand-in, like limactl, refuses root (what the preflight spares the user)', async () => {
    const { FAKE_LIMACTL_AS_USER: _, ...asRoot } = env;
    const failed = await run(LIMACTL, ['list', '--tty=false', '--json'], { env: asRoot }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed).toMatchObject({ code: 1, stderr: 'limactl: must not run as the root user\n' });
  });

  it('reports tcg with the fix when /dev/kvm is missing, kvm when it is usable', async () => {
    const report = await driver().preflight(spec());
    expect(report.accel).toBe('tcg');
    expect(report.notes[0]).toBe('limactl version 2.0.3');
    expect(report.notes.join('\n')).toMatch(/software emulation.*load kvm-intel or kvm-amd/);
    await expect(driver().preflight(spec({ accel: 'kvm' }))).rejects.toMatchObject({
      kind: 'unavailable',
      message: expect.stringContaining('/dev/kvm is missing'),
    });
    const kvm = join(dir, 'kvm');
    await writeFile(kvm, '');
    expect((await driver({ kvmPath: kvm }).preflight(spec())).accel).toBe('kvm');
    expect((await driver({ platform: 'darwin' }).preflight(spec())).accel).toBe('hvf');
  });

  it('refuses a template that mounts host paths, and a bad name, before starting anything', async () => {
    const leaky = join(dir, 'leaky.yaml');
    await writeFile(leaky, 'images: []\nmounts:\n  - location: "~"\n    writable: true\n');
    await expect(driver().preflight(spec({ template: leaky }))).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('mounts host paths'),
    });
    await expect(driver().preflight(spec({ name: 'bad name' }))).rejects.toMatchObject({
      kind: 'invalid',
    });
    expect(await recorded()).toEqual([]);
  });
});

describe('LimaDriver lifecycle against the stand-in limactl', { timeout: 60_000 }, () => {
  it('start → ready → exec → copyIn → describe → delete, with the exact command lines', async () => {
    env.FAKE_LIMACTL_SOCKET_DELAY_MS = '300';
    const lima = driver();
    const handle = await lima.start(spec({ timeoutMs: 90_000 }));
    const instanceDir = join(dir, 'lima', 'agent');
    expect(handle).toEqual({
      name: 'agent',
      backend: 'lima',
      state: { dir: instanceDir, accel: 'tcg' },
    });

    let pings = 0;
    const counted = driver({
      ping: (socket, ms) => {
        pings++;
        return pingPodmanSocket(socket, ms);
      },
    });
    const began = Date.now();
    await counted.ready(handle, 10_000);
    const waited = Date.now() - began;
    // The socket appears ~300 ms after the stand-in starts its server (slower under load).
    expect(waited).toBeLessThan(5_000);
    expect(pings).toBeGreaterThan(1);

    const ran = await lima.exec(handle, ['sh', '-c', 'echo out; echo err >&2; cat; exit 3'], {
      stdin: 'in\n',
    });
    expect(ran).toMatchObject({ exitCode: 3, timedOut: false });
    expect(ran.stdout.toString()).toBe('out\nin\n');
    expect(ran.stderr.toString()).toBe('err\n');

    const source = join(dir, 'payload.txt');
    await writeFile(source, 'payload');
    const guestPath = join(dir, 'guest', 'deep', 'payload.txt');
    await lima.copyIn(handle, source, guestPath);
    expect(await readFile(guestPath, 'utf8')).toBe('payload');

    const described = await lima.describe(handle);
    expect(described).toMatchObject({
      status: 'running',
      accel: 'tcg',
      podmanSocket: join(instanceDir, 'sock', 'podman.sock'),
      details: { vmType: 'qemu', arch: 'x86_64', dir: instanceDir },
    });
    expect(await pingPodmanSocket(described.podmanSocket as string, 1000)).toBe(true);

    await lima.delete(handle);
    expect(existsSync(instanceDir)).toBe(false);
    expect((await lima.describe(handle)).status).toBe('missing');

    const lines = await recorded();
    expect(lines.slice(0, 2)).toEqual([
      ['list', '--tty=false', 'agent', '--json'],
      ['start', '--name=agent', '--tty=false', '--timeout=90s', TEMPLATE],
    ]);
    expect(lines).toContainEqual(['list', '--tty=false', 'agent', '--json']);
    expect(lines).toContainEqual([
      'shell',
      '--tty=false',
      'agent',
      '--',
      'sh',
      '-c',
      'echo out; echo err >&2; cat; exit 3',
    ]);
    expect(lines).toContainEqual([
      'shell',
      '--tty=false',
      'agent',
      '--',
      'mkdir',
      '-p',
      join(dir, 'guest', 'deep'),
    ]);
    expect(lines).toContainEqual(['copy', '--tty=false', source, `agent:${guestPath}`]);
    const tail = lines.slice(-3);
    expect(tail.slice(0, 2)).toEqual([
      ['stop', '--tty=false', '--force', 'agent'],
      ['delete', '--tty=false', '--force', 'agent'],
    ]);
  });

  it('a DEGRADED start (VM left Running) fails with the log tails and is still torn down', async () => {
    env.FAKE_LIMACTL_START = 'degraded';
    const error = await driver()
      .start(spec({ name: 'degraded' }))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'start_failed' });
    const message = (error as Error).message;
    expect(message).toContain('DEGRADED');
    expect(message).toContain('instance status: Running');
    expect(message).toMatch(/--- ha\.stderr\.log[^\n]*\n[\s\S]*probe 1 failed/);
    expect(message).toMatch(/--- serial\.log[^\n]*\nBooting Debian/);
    expect(message).toMatch(/--- serialv\.log/);
    expect(message).toMatch(
      /--- guest \/var\/log\/cloud-init-output\.log ---\nE: Unable to locate package podman/,
    );
    expect(message).toContain('(torn down)');
    const lines = await recorded();
    expect(lines).toContainEqual([
      'shell',
      '--tty=false',
      'degraded',
      '--',
      'tail',
      '-c',
      '4096',
      '/var/log/cloud-init-output.log',
    ]);
    expect(lines.slice(-2)).toEqual([
      ['stop', '--tty=false', '--force', 'degraded'],
      ['delete', '--tty=false', '--force', 'degraded'],
    ]);
    expect(existsSync(join(dir, 'lima', 'degraded'))).toBe(false);
  });

  it('a failed start of a stopped VM reports its host logs (no guest shell to ask)', async () => {
    env.FAKE_LIMACTL_START = 'fail';
    const error = await driver()
      .start(spec({ name: 'broken' }))
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /instance status: Stopped[\s\S]*qemu exited: could not open disk image/,
    );
    expect((error as Error).message).not.toContain('cloud-init-output');
    expect(existsSync(join(dir, 'lima', 'broken'))).toBe(false);
  });

  it('ready gives up at its timeout, polling in tens of milliseconds', async () => {
    env.FAKE_LIMACTL_SOCKET_DELAY_MS = '600000';
    const lima = driver();
    const handle = await lima.start(spec());
    let pings = 0;
    const counted = driver({
      ping: (socket, ms) => {
        pings++;
        return pingPodmanSocket(socket, ms);
      },
    });
    const began = Date.now();
    const error = await counted.ready(handle, 400).catch((e: unknown) => e);
    const waited = Date.now() - began;
    expect(error).toMatchObject({
      kind: 'timeout',
      message: expect.stringContaining('/libpod/_ping within 400 ms'),
    });
    expect(waited).toBeGreaterThanOrEqual(400);
    expect(waited).toBeLessThan(3_000);
    expect(pings).toBeGreaterThanOrEqual(5);
  });

  it('exec: a 1 from a running guest is the command, a 1 from a stopped instance is an error; timeouts kill', async () => {
    const lima = driver();
    const handle = await lima.start(spec());
    expect((await lima.exec(handle, ['sh', '-c', 'exit 1'])).exitCode).toBe(1);

    const began = Date.now();
    const slow = await lima.exec(handle, ['sleep', '30'], { timeoutMs: 300 });
    expect(slow.timedOut).toBe(true);
    expect(Date.now() - began).toBeLessThan(5_000);

    await lima.stop(handle);
    expect((await lima.describe(handle)).status).toBe('stopped');
    await expect(lima.exec(handle, ['true'])).rejects.toMatchObject({
      kind: 'exec_failed',
      message: expect.stringContaining('it is Stopped'),
    });
    await lima.delete(handle);
  });

  it('refuses to start over an existing instance, and leaves that instance alone', async () => {
    const lima = driver();
    await lima.start(spec());
    const before = (await recorded()).length;
    await expect(lima.start(spec())).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('a Lima instance named agent already exists (Running)'),
    });
    expect((await recorded()).slice(before)).toEqual([['list', '--tty=false', 'agent', '--json']]);
    expect((await lima.describe({ name: 'agent', backend: 'lima', state: {} })).status).toBe(
      'running',
    );
  });

  it('a template with a base starts with --mount-none, so the base cannot bring the home mount back', async () => {
    const based = join(dir, 'based.yaml');
    await writeFile(based, 'base:\n  - template:_images/debian-12\nmounts: []\n');
    const lima = driver();
    expect((await lima.preflight(spec({ template: based }))).notes.join('\n')).toContain(
      '--mount-none',
    );
    await lima.start(spec({ template: based, timeoutMs: 60_000 }));
    expect(await recorded()).toContainEqual([
      'start',
      '--name=agent',
      '--tty=false',
      '--timeout=60s',
      '--mount-none',
      based,
    ]);
  });

  it('a template that cannot be read before start (a URL, template:NAME) starts with --mount-none', async () => {
    const lima = driver();
    const report = await lima.preflight(spec({ template: 'template:podman' }));
    expect(report.notes.join('\n')).toContain('cannot be inspected before start');
    const handle = await lima.start(spec({ template: 'template:podman', timeoutMs: 60_000 }));
    expect((await lima.describe(handle)).status).toBe('running');
    expect(await recorded()).toContainEqual([
      'start',
      '--name=agent',
      '--tty=false',
      '--timeout=60s',
      '--mount-none',
      'template:podman',
    ]);
  });

  it('refuses an instance whose effective config mounts host paths anyway, and tears it down', async () => {
    env.FAKE_LIMACTL_OVERRIDE_MOUNT = '/srv/secrets';
    await expect(driver().start(spec())).rejects.toMatchObject({
      kind: 'start_failed',
      message: expect.stringContaining(
        'the started instance mounts host paths ([{"location":"/srv/secrets"}])',
      ),
    });
    expect(existsSync(join(dir, 'lima', 'agent'))).toBe(false);
  });

  it('deleting an instance that does not exist is not an error', async () => {
    await expect(
      driver().delete({ name: 'agent', backend: 'lima', state: {} }),
    ).resolves.toBeUndefined();
    await expect(
      driver().stop({ name: 'agent', backend: 'lima', state: {} }),
    ).resolves.toBeUndefined();
  });

  it('copyIn refuses paths limactl copy would split at ":"', async () => {
    const handle: VmHandle = { name: 'agent', backend: 'lima', state: { dir, accel: 'tcg' } };
    await expect(driver().copyIn(handle, '/tmp/a:b', '/x')).rejects.toMatchObject({
      kind: 'invalid',
    });
    expect(await recorded()).toEqual([]);
  });
});
