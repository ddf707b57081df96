import { appendFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runComposite } from '../support/composite.js';
import { defaultGuest, GUEST_DIR, qemuPids } from '../support/guest.js';

/**
 * actions/sandbox-check run the way the runner runs a composite, on the real qemu
 * guest (TCG here): boot → gate → teardown in `if: always()`, with the built CLI at
 * the action's own path.
 */

let scratch: string;
let controlLog: string;
let server: Server;
let port: number;
const standIns = { 'actions/setup-node': async () => undefined };

beforeAll(async () => {
  await defaultGuest();
  scratch = await mkdtemp(join(tmpdir(), 'vmt-check-'));
  controlLog = join(scratch, 'control.log');
  await writeFile(controlLog, '');
  // The allowed endpoint: a real HTTP server that logs every request it answers.
  server = createServer((req, res) => {
    appendFileSync(controlLog, `${req.method} ${req.url}\n`);
    res.end('ok\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
}, 300_000);

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(scratch, { recursive: true, force: true });
});

describe('actions/sandbox-check (composite, real qemu guest)', () => {
  it('boots, gates (pass, control confirmed in the endpoint log) and always deletes the VM', async () => {
    const name = `chk-${process.pid}`;
    const run = await runComposite('sandbox-check', {
      cwd: scratch,
      inputs: { name, allow: `127.0.0.1:${port}`, 'control-log': controlLog, accel: 'tcg' },
      env: { VM_TOOLS_GUEST_DIR: GUEST_DIR },
      standIns,
      timeoutMs: 240_000,
    });
    expect(run.stderr).not.toMatch(/^error:/m);
    expect(run.steps.map((s) => s.outcome)).toEqual([
      'success',
      'skipped',
      'success',
      'success',
      'success',
    ]);
    expect(run.exitCode).toBe(0);
    expect(run.outputs.verdict).toBe('pass');
    expect(run.outputs.escapes).toBe('[]');
    expect(run.outputs.accel).toBe('tcg');
    expect(Number(run.outputs['boot-ms'])).toBeGreaterThan(0);
    const report = JSON.parse(await readFile(run.outputs.report as string, 'utf8')) as {
      verdict: string;
    };
    expect(report.verdict).toBe('pass');
    expect(await readFile(controlLog, 'utf8')).toMatch(/GET \/vm-tools-gate\/\S+/);
    expect(await qemuPids(`vm-tools-${name}`)).toEqual([]);
  }, 300_000);

  it('a gate that cannot judge (endpoint down) fails the step, and teardown still runs', async () => {
    const name = `chk-down-${process.pid}`;
    // A port nothing listens on: the positive control cannot pass.
    const down = createServer();
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    const downPort = (down.address() as { port: number }).port;
    await new Promise((resolve) => down.close(resolve));
    const run = await runComposite('sandbox-check', {
      cwd: scratch,
      inputs: { name, allow: `127.0.0.1:${downPort}`, accel: 'tcg' },
      env: { VM_TOOLS_GUEST_DIR: GUEST_DIR },
      standIns,
      timeoutMs: 240_000,
    });
    expect(run.exitCode).toBe(1);
    expect(run.steps.map((s) => s.outcome)).toEqual([
      'success',
      'skipped',
      'success',
      'failure',
      'success',
    ]);
    expect(run.outputs.verdict).toBe('broken');
    expect(run.stderr).toContain('sandbox gate: broken');
    expect(await qemuPids(`vm-tools-${name}`)).toEqual([]);
  }, 300_000);
});
