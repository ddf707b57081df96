import { appendFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultGuest, GUEST_DIR } from '../support/guest.js';
import { runActionBundle, runCliBundle } from '../support/runner.js';

/**
 * The built sandbox-gate bundle and CLI against a VM booted by the boot-vm bundle:
 * pass with outputs, report and summary; broken (exit 1, outputs still written)
 * when the allowed endpoint is down; bad input exits 2 and leaves nothing behind.
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
    expect(run.outputs).toMatchObject({ verdict: 'pass', escapes: '[]', report });
    const json = JSON.parse(await readFile(report, 'utf8'));
    expect(json.verdict).toBe('pass');
    const control = json.probes.find((p: { expect: string }) => p.expect === 'reachable');
    expect(await readFile(controlLog, 'utf8')).toContain(`GET /vm-tools-gate/${control.token}`);
    expect(run.summary).toContain(
      '<th>Probe</th><th>Target</th><th>Expected</th><th>Guest result</th><th>Host evidence</th><th>Verdict</th>',
    );
    expect(run.summary).toContain('token in the endpoint log');
    expect(run.summary).toMatch(/metadata/);
    expect(await readdir(tmp)).toEqual([]);
  });

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
});
