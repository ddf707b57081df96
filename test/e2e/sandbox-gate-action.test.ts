import { appendFileSync, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultGuest, GUEST_DIR, qemuPids } from '../support/guest.js';
import { runActionBundle, runCliBundle } from '../support/runner.js';

/**
 * The built sandbox-gate bundle and CLI against a VM booted by the boot-vm bundle:
 * pass with outputs, report and summary; broken (exit 1, outputs still written)
 * when the allowed endpoint is down; bad input exits 2 and leaves nothing behind.
 * Without a name the gate boots the default guest itself and deletes it; with no
 * qemu to boot one that is bad input. The post step deletes a VM main left behind.
 */
let scratch: string;
let stateDir: string;
let tmp: string;
const name = `t-gate-act-${process.pid}`;
let controlLog: string;
let port: number;
let close: () => Promise<void>;
const env = () => ({ VM_TOOLS_GUEST_DIR: GUEST_DIR, VM_TOOLS_STATE_DIR: undefined });
// The gate's own temp dir: must be empty again after every run, whatever the verdict.
const gateEnv = () => ({ ...env(), TMPDIR: tmp, RUNNER_TEMP: undefined });

beforeAll(async () => {
  await defaultGuest();
  scratch = await mkdtemp(join(tmpdir(), 'vm-tools-gate-action-'));
  stateDir = join(scratch, 'state');
  tmp = join(scratch, 'tmp');
  await mkdir(tmp);
  controlLog = join(scratch, 'control.log');
  // The allowed endpoint, logging each request line to a file the gate reads.
  const server = createServer((req, res) => {
    appendFileSync(controlLog, `${req.method} ${req.url}\n`);
    res.end('ok\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
  close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  const boot = await runActionBundle('boot-vm', {
    inputs: {
      name,
      accel: 'tcg',
      allow: `127.0.0.1:${port}`,
      'state-dir': stateDir,
      memory: '256',
      keep: 'true',
    },
    env: env(),
    timeoutMs: 300_000,
  });
  expect(boot.errors).toEqual([]);
}, 600_000);

afterAll(async () => {
  await runCliBundle(['vm-delete', '--name', name, '--state-dir', stateDir], { env: env() });
  await close?.();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('sandbox-gate action', () => {
  it('passes the confined guest: outputs, JSON report, summary table, control token in the endpoint log', async () => {
    const report = join(scratch, 'report.json');
    const run = await runActionBundle('sandbox-gate', {
      inputs: {
        name,
        allow: `127.0.0.1:${port}`,
        'state-dir': stateDir,
        'control-log': controlLog,
        report,
      },
      env: gateEnv(),
    });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toMatchObject({ verdict: 'pass', escapes: '[]', report, 'boot-ms': '' });
    const json = JSON.parse(await readFile(report, 'utf8'));
    expect(json.verdict).toBe('pass');
    expect(json).toMatchObject({ vm: name, booted: false });
    expect(run.summary).toContain(`VM ${name}: given (started by boot-vm), left running`);
    const control = json.probes.find((p: { expect: string }) => p.expect === 'reachable');
    expect(await readFile(controlLog, 'utf8')).toContain(`GET /vm-tools-gate/${control.token}`);
    expect(run.summary).toContain(
      '<th>Probe</th><th>Target</th><th>Expected</th><th>Guest result</th><th>Host evidence</th><th>Verdict</th>',
    );
    expect(run.summary).toContain('token in the endpoint log');
    expect(run.summary).toMatch(/metadata/);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('without a name: boots its own default guest allowed exactly allow, passes, deletes it (no qemu, no state file, no temp left)', async () => {
    const report = join(scratch, 'own.json');
    const logBefore = (await readFile(controlLog, 'utf8').catch(() => '')).length;
    // qemu's work dir lives in the gate's TMPDIR: every qemu seen there is the gate's own.
    const seen = new Set<number>();
    let running = true;
    const watch = (async () => {
      while (running) {
        for (const pid of await qemuPids(tmp)) seen.add(pid);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const run = await runCliBundle(
      [
        'sandbox-gate',
        '--allow',
        `127.0.0.1:${port}`,
        '--accel',
        'tcg',
        '--memory',
        '256',
        '--state-dir',
        stateDir,
        '--control-log',
        controlLog,
        '--report',
        report,
      ],
      { env: gateEnv(), timeoutMs: 540_000 },
    ).finally(() => {
      running = false;
    });
    await watch;
    expect(run.stderr).not.toMatch(/^error:/m);
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toMatchObject({ verdict: 'pass', escapes: '[]', report });
    expect(run.outputs['boot-ms']).toMatch(/^[1-9]\d*$/);
    const json = JSON.parse(await readFile(report, 'utf8'));
    expect(json).toMatchObject({
      booted: true,
      backend: 'qemu',
      accel: 'tcg',
      verdict: 'pass',
      bootMs: Number(run.outputs['boot-ms']),
    });
    expect(json.vm).toMatch(/^gate-\d+-[0-9a-f]{6}$/);
    // Its one allowed endpoint is the gate's control: the token arrived there.
    const control = json.probes.find((p: { expect: string }) => p.expect === 'reachable');
    expect((await readFile(controlLog, 'utf8')).slice(logBefore)).toContain(
      `GET /vm-tools-gate/${control.token}`,
    );
    expect(run.stderr).toContain(
      `VM ${json.vm}: booted by the gate (default qemu guest, tcg, ready in ${run.outputs['boot-ms']} ms), deleted afterwards`,
    );
    expect(run.stderr).toContain(`deleted VM ${json.vm} (booted by the gate)`);
    // It ran, and it is gone: no qemu, no state file, nothing in the temp dir.
    expect(seen.size).toBeGreaterThan(0);
    expect(await qemuPids(tmp)).toEqual([]);
    expect(await qemuPids(`vm-tools-${json.vm}`)).toEqual([]);
    expect(existsSync(join(stateDir, `${json.vm}.json`))).toBe(false);
    expect(await readdir(tmp)).toEqual([]);
    // The VM it was not given is untouched.
    expect(existsSync(join(stateDir, `${name}.json`))).toBe(true);
  }, 600_000);

  it('fails on a forward not in allow, is broken with the endpoint down: exit 1 after writing verdict, escapes and report', async () => {
    const run = await runCliBundle(
      [
        'sandbox-gate',
        '--name',
        name,
        '--allow',
        `127.0.0.1:${port + 1 === 65_536 ? 1 : port + 1}`,
        '--state-dir',
        stateDir,
        '--report',
        join(scratch, 'unmapped.json'),
      ],
      { env: gateEnv() },
    );
    // An allow entry the VM has no forward for: no control can run, and the VM's real
    // forward is now one not in allow, which the guest reaches: fail, naming it.
    expect(run.exitCode).toBe(1);
    expect(run.outputs.verdict).toBe('fail');
    expect(JSON.parse(run.outputs.escapes as string)).toContainEqual(
      expect.objectContaining({
        address: `10.0.2.100:${port}`,
        target: `forward to 127.0.0.1:${port}, not in allow`,
      }),
    );
    expect(run.stderr).toMatch(/has no forward into VM/);
    expect(run.stderr).toMatch(/error: sandbox gate: fail, 1 escape\(s\): 10\.0\.2\.100:/);
    expect(await readdir(tmp)).toEqual([]);
    // The real endpoint, down: its control fails, so broken, never pass.
    await close();
    const down = await runCliBundle(
      [
        'sandbox-gate',
        '--name',
        name,
        '--allow',
        `127.0.0.1:${port}`,
        '--state-dir',
        stateDir,
        '--control-log',
        controlLog,
        '--report',
        join(scratch, 'down.json'),
      ],
      { env: gateEnv() },
    );
    expect(down.exitCode).toBe(1);
    expect(down.outputs).toMatchObject({ verdict: 'broken', escapes: '[]' });
    expect(down.stderr).toMatch(
      /positive control p1 \(allowed 127\.0\.0\.1:\d+\) failed: guest blocked/,
    );
    expect(await readdir(tmp)).toEqual([]);
  });

  it('bad input: an allow entry that does not parse, a VM that does not exist → exit 2, nothing left', async () => {
    const bad = await runCliBundle(
      ['sandbox-gate', '--name', name, '--allow', 'nope', '--state-dir', stateDir],
      {
        env: gateEnv(),
      },
    );
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/Input "allow" takes one HOST:PORT per line.*got "nope"/);
    const missing = await runCliBundle(
      [
        'sandbox-gate',
        '--name',
        'no-such-vm',
        '--allow',
        `127.0.0.1:${port}`,
        '--state-dir',
        stateDir,
      ],
      { env: gateEnv() },
    );
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/no VM named "no-such-vm"/);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('bad input: no name and no qemu to boot one → exit 2 naming it, nothing started or left', async () => {
    // Every tool on PATH but qemu-system-*: the guest's cache key (apt-cache) still resolves.
    const bin = join(scratch, 'bin-no-qemu');
    await mkdir(bin);
    await symlink(process.execPath, join(bin, 'node'));
    const linked = new Set(['node']);
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      for (const tool of await readdir(dir).catch(() => [] as string[])) {
        if (tool.startsWith('qemu-system-') || linked.has(tool)) continue;
        linked.add(tool);
        await symlink(join(dir, tool), join(bin, tool));
      }
    }
    expect(existsSync(join(bin, 'apt-cache'))).toBe(true);
    const noQemuState = join(scratch, 'state-no-qemu');
    await mkdir(noQemuState);
    const run = await runCliBundle(
      [
        'sandbox-gate',
        '--allow',
        `127.0.0.1:${port}`,
        '--accel',
        'tcg',
        '--state-dir',
        noQemuState,
        '--report',
        join(scratch, 'no-qemu.json'),
      ],
      { env: { ...gateEnv(), PATH: bin } },
    );
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(
      /error: no VM given \(name\) and none can be booted: qemu-system-\S+ is not installed/,
    );
    expect(run.stdout).toBe('');
    expect(existsSync(join(scratch, 'no-qemu.json'))).toBe(false);
    expect(await readdir(noQemuState)).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('post step: deletes a VM and a temp dir a killed main step left (the leftovers it saved)', async () => {
    // Last: it deletes the shared VM, standing in for one the gate booted before it was killed.
    const marker = `vm-tools-${name}`;
    expect((await qemuPids(marker)).length).toBeGreaterThan(0);
    const leftDir = join(tmp, 'vm-tools-gate-left');
    await mkdir(join(leftDir, 'sub'), { recursive: true });
    const post = await runActionBundle('sandbox-gate', {
      phase: 'post',
      state: {
        'vm-tools-leftovers': JSON.stringify([
          { kind: 'vm', name, stateDir },
          { kind: 'file', path: leftDir },
        ]),
      },
      env: env(),
    });
    expect(post.errors).toEqual([]);
    expect(post.exitCode).toBe(0);
    expect(post.stdout).toContain(`removed VM ${name}`);
    expect(post.stdout).toContain(`removed file ${leftDir}`);
    expect(await qemuPids(marker)).toEqual([]);
    expect(existsSync(join(stateDir, `${name}.json`))).toBe(false);
    expect(await readdir(tmp)).toEqual([]);
  });
});
