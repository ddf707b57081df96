import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultGuest, GUEST_DIR, guestGet, qemuPids, startHttp } from '../support/guest.js';
import { parseFileCommands, ROOT, runActionBundle, runCliBundle } from '../support/runner.js';

/**
 * The built boot-vm bundles and CLI verbs against real qemu (software emulation):
 * main → CLI verbs → post, main killed mid-boot then post alone, SIGINT on the
 * CLI mid-boot, and bad input that must start nothing.
 */
let scratch: string;
const env = () => ({ VM_TOOLS_GUEST_DIR: GUEST_DIR, VM_TOOLS_STATE_DIR: undefined });

beforeAll(async () => {
  await defaultGuest(); // build once, before any bundle needs it
  scratch = await mkdtemp(join(tmpdir(), 'vm-tools-boot-vm-'));
}, 600_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const workDirOf = async (stateFile: string) =>
  (JSON.parse(await readFile(stateFile, 'utf8')) as { state: { workDir: string } }).state.workDir;

describe('boot-vm action', () => {
  it('boots, outputs, serves the CLI verbs, keeps on keep:true, and the post step tears it all down', async () => {
    const http = await startHttp('from-the-allowed-endpoint');
    const stateDir = join(scratch, 'state-a');
    const name = `t-action-${process.pid}`;
    try {
      const main = await runActionBundle('boot-vm', {
        inputs: {
          name,
          accel: 'tcg',
          allow: `127.0.0.1:${http.port}`,
          'state-dir': stateDir,
          memory: '256',
        },
        env: env(),
        timeoutMs: 300_000,
      });
      expect(main.errors).toEqual([]);
      expect(main.exitCode).toBe(0);
      expect(main.outputs).toMatchObject({
        name,
        backend: 'qemu',
        accel: 'tcg',
        'state-file': join(stateDir, `${name}.json`),
      });
      expect(Number(main.outputs['boot-ms'])).toBeGreaterThan(0);
      expect(main.summary).toContain(`<td>${name}</td><td>qemu</td><td>tcg</td>`);
      const workDir = await workDirOf(join(stateDir, `${name}.json`));
      expect(await qemuPids(workDir)).toHaveLength(1);

      const cli = (args: string[]) =>
        runCliBundle([...args, '--name', name, '--state-dir', stateDir], { env: env() });
      const echo = await cli([
        'vm-exec',
        '--command',
        'sh',
        // A value starting with "-" goes inline (the CLI's parser is strict).
        '--command=-c',
        '--command',
        'echo out; echo err >&2',
      ]);
      expect(echo.exitCode).toBe(0);
      expect(echo.stdout).toBe('out\nexit-code=0\n');
      expect(echo.stderr).toContain('err\n');
      const seven = await cli([
        'vm-exec',
        '--command',
        'sh',
        // A value starting with "-" goes inline (the CLI's parser is strict).
        '--command=-c',
        '--command',
        'exit 7',
      ]);
      expect(seven.exitCode).toBe(1);
      expect(seven.stderr).toContain('exited with code 7');
      const payload = randomBytes(5000);
      await writeFile(join(scratch, 'payload'), payload);
      expect(
        (await cli(['vm-copy-in', '--source', join(scratch, 'payload'), '--dest', '/root/p']))
          .exitCode,
      ).toBe(0);
      const sum = await cli(['vm-exec', '--command', 'sha256sum /root/p']);
      expect(sum.stdout).toContain(createHash('sha256').update(payload).digest('hex'));
      const get = await cli([
        'vm-exec',
        '--command',
        'sh',
        // A value starting with "-" goes inline (the CLI's parser is strict).
        '--command=-c',
        '--command',
        guestGet('10.0.2.100', http.port)[2] as string,
      ]);
      expect(get.stdout, get.stderr).toContain('from-the-allowed-endpoint');

      const state = main.state;
      expect(state).toMatchObject({
        'vm-name': name,
        'vm-state-dir': stateDir,
        'vm-keep': 'false',
      });
      const kept = await runActionBundle('boot-vm', {
        phase: 'post',
        state: { ...state, 'vm-keep': 'true' },
        env: env(),
      });
      expect(kept.exitCode).toBe(0);
      expect(kept.stdout).toContain('keep: true');
      expect(await qemuPids(workDir)).toHaveLength(1);

      const post = await runActionBundle('boot-vm', { phase: 'post', state, env: env() });
      expect(post.errors).toEqual([]);
      expect(post.exitCode).toBe(0);
      expect(await qemuPids(workDir)).toEqual([]);
      expect(existsSync(workDir)).toBe(false);
      expect(existsSync(join(stateDir, `${name}.json`))).toBe(false);
      // The CLI says so for a VM that is gone, and deleting again is fine.
      expect((await cli(['vm-exec', '--command', 'true'])).exitCode).toBe(2);
      expect((await cli(['vm-delete'])).outputs).toEqual({ deleted: 'false' });
    } finally {
      await runCliBundle(['vm-delete', '--name', name, '--state-dir', stateDir]);
      await http.close();
    }
  }, 400_000);

  it('post tears down a VM whose main step was SIGKILLed mid-boot', async () => {
    const stateDir = join(scratch, 'state-b');
    const name = `t-killed-${process.pid}`;
    const files = await mkdtemp(join(scratch, 'runner-'));
    const stateFile = join(files, 'state');
    for (const f of ['output', 'state', 'summary']) await writeFile(join(files, f), '');
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'boot-vm', 'index.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...{ VM_TOOLS_GUEST_DIR: GUEST_DIR },
        INPUT_NAME: name,
        INPUT_BACKEND: 'qemu',
        INPUT_ACCEL: 'tcg',
        INPUT_TIMEOUT: '300',
        INPUT_KEEP: 'false',
        'INPUT_STATE-DIR': stateDir,
        GITHUB_ACTIONS: 'true',
        GITHUB_OUTPUT: join(files, 'output'),
        GITHUB_STATE: stateFile,
        GITHUB_STEP_SUMMARY: join(files, 'summary'),
        RUNNER_TEMP: files,
      },
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.on('close', r));
    // Mid-boot: qemu runs, the agent has not announced itself yet.
    const pids = await waitFor('qemu', async () => {
      const found = await qemuPids(`vm-tools-${name}`);
      return found.length ? found : undefined;
    });
    child.kill('SIGKILL');
    await exited;
    const workDir = await workDirOf(join(stateDir, `${name}.json`));
    // qemu outlived main. (-daemonize forks: the pids seen mid-boot and now may differ.)
    expect(pids.length).toBeGreaterThan(0);
    expect((await qemuPids(workDir)).length).toBeGreaterThan(0);
    const post = await runActionBundle('boot-vm', {
      phase: 'post',
      state: parseFileCommands(await readFile(stateFile, 'utf8')),
      env: env(),
    });
    expect(post.exitCode).toBe(0);
    expect(post.stdout).toContain(`deleted VM ${name}`);
    expect(await qemuPids(`vm-tools-${name}`)).toEqual([]);
    expect(existsSync(workDir)).toBe(false);
    expect(existsSync(join(stateDir, `${name}.json`))).toBe(false);
  }, 300_000);
});

describe('vm-tools boot-vm (CLI)', () => {
  it('SIGINT mid-boot deletes the VM', async () => {
    const stateDir = join(scratch, 'state-c');
    const name = `t-sigint-${process.pid}`;
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'dist', 'cli', 'index.js'),
        'boot-vm',
        '--name',
        name,
        '--accel',
        'tcg',
        '--state-dir',
        stateDir,
      ],
      {
        cwd: ROOT,
        env: { ...process.env, VM_TOOLS_GUEST_DIR: GUEST_DIR },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    await waitFor('qemu', async () =>
      (await qemuPids(`vm-tools-${name}`)).length ? true : undefined,
    );
    const workDir = await workDirOf(join(stateDir, `${name}.json`));
    child.kill('SIGINT');
    // The process's cleanup registry deletes the booting VM, then exits 130 like any cancelled step.
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/SIGINT: cancelled; removing 1 thing this step created/);
    expect(await qemuPids(`vm-tools-${name}`)).toEqual([]);
    expect(existsSync(workDir)).toBe(false);
    expect(existsSync(join(stateDir, `${name}.json`))).toBe(false);
  }, 300_000);

  it.each([
    [
      ['--backend', 'vbox', '--name', 'ok'],
      /Input "backend" must be one of qemu, lima, smolvm; got "vbox"/,
    ],
    [['--name', ''], /Input "name" is required/],
    [['--name=-rf'], /Input "name" must be/],
    [['--name', 'a/b'], /Input "name" must be/],
    [['--name', 'ok', '--allow', '127.0.0.1'], /Input "allow" takes one HOST:PORT/],
    [['--name', 'ok', '--allow', '10.0.0.0/8:80'], /Input "allow" takes one HOST:PORT/],
    [
      ['--name', 'ok', '--kernel', '/nonexistent/vmlinux'],
      /Inputs "kernel" and "initrd" go together/,
    ],
    [
      ['--name', 'ok', '--kernel', '/nonexistent/vmlinux', '--initrd', '/nonexistent/initrd'],
      /Input "kernel": no such file/,
    ],
    [['--name', 'ok', '--accel', 'hvf'], /Input "accel" must be one of auto, kvm, tcg/],
  ])('bad input %j: exit 2, nothing started or left behind', async (args, message) => {
    const stateDir = join(scratch, `bad-${randomBytes(4).toString('hex')}`);
    const run = await runCliBundle(['boot-vm', ...args, '--state-dir', stateDir], { env: env() });
    expect(run.stderr).toMatch(message);
    expect(run.exitCode).toBe(2);
    expect(existsSync(stateDir) ? await readdir(stateDir) : []).toEqual([]);
    expect(await qemuPids('vm-tools-ok')).toEqual([]);
  });

  it('a guest that cannot boot fails with the serial console tail and leaves nothing', async () => {
    const stateDir = join(scratch, 'state-d');
    const name = `t-panic-${process.pid}`;
    const guest = await defaultGuest();
    const garbage = join(scratch, 'not-an-initramfs');
    await writeFile(garbage, randomBytes(4096));
    const run = await runCliBundle(
      [
        'boot-vm',
        '--name',
        name,
        '--accel',
        'tcg',
        '--kernel',
        guest.kernel,
        '--initrd',
        garbage,
        '--state-dir',
        stateDir,
      ],
      { env: env(), timeoutMs: 300_000 },
    );
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /qemu is (still|no longer) running; last lines of the serial console/,
    );
    expect(run.stderr).toMatch(/Kernel panic/);
    expect(await qemuPids(`vm-tools-${name}`)).toEqual([]);
    expect(existsSync(join(stateDir, `${name}.json`))).toBe(false);
  }, 300_000);

  it('lima refuses to run as root before anything starts (exit 2, no state file)', async () => {
    const stateDir = join(scratch, 'lima');
    const run = await runCliBundle([
      'boot-vm',
      '--backend',
      'lima',
      '--name',
      'ok',
      '--template',
      join(ROOT, 'templates', 'lima', 'agent-vm.yaml'),
      '--state-dir',
      stateDir,
    ]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('Lima refuses to run as root');
    expect(existsSync(join(stateDir, 'ok.json'))).toBe(false);
  });

  it('--help documents every VM verb', async () => {
    const help = await runCliBundle(['--help']);
    for (const verb of ['boot-vm', 'vm-exec', 'vm-copy-in', 'vm-stop', 'vm-delete', 'build-guest'])
      expect(help.stdout).toContain(verb);
  });
});
