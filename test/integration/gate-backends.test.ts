import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TOKEN_PATTERN } from '../../src/lib/gate/canaries.js';
import { runGate } from '../../src/lib/gate/gate.js';
import { GUEST_GATE_DIR, GUEST_RUNTIME, GUEST_SCRIPT } from '../../src/lib/gate/probes.js';
import type { Endpoint, VmSpec } from '../../src/lib/vm/driver.js';
import { LimaDriver } from '../../src/lib/vm/lima.js';
import { SmolvmDriver } from '../../src/lib/vm/smolvm.js';

// Lima and smolvm cannot run here: the gate drives the real drivers against the
// stand-ins in test/fixtures, which record every command line and run each "guest"
// command on the host. So these tests pin the exact commands the gate runs through
// each backend, and what it makes of a "guest" that is no sandbox at all.
const LIMACTL = join(import.meta.dirname, '../fixtures/limactl/limactl');
const SMOLVM = join(import.meta.dirname, '../fixtures/smolvm/smolvm');
const TEMPLATE = join(import.meta.dirname, '../../templates/lima/agent-vm.yaml');

let dir: string;
let argvLog: string;
let control: { endpoint: Endpoint; tokens: string[]; close: () => Promise<void> };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vm-tools-gate-backends-'));
  argvLog = join(dir, 'argv.log');
  const tokens: string[] = [];
  const server = createServer((req, res) => {
    for (const m of `${req.url}`.matchAll(TOKEN_PATTERN)) tokens.push(m[0]);
    res.end('ok\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  control = {
    endpoint: { host: '127.0.0.1', port: (server.address() as { port: number }).port },
    tokens,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
});

afterEach(async () => {
  await control.close();
  // The stand-ins' "guest" is this host: the runtime and script the gate put there.
  await rm(GUEST_GATE_DIR, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
});

async function recorded(): Promise<string[][]> {
  return (await readFile(argvLog, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string[]);
}

const spec = (over: Partial<VmSpec>): VmSpec => ({
  name: 'gated',
  backend: 'smolvm',
  accel: 'auto',
  cpus: 1,
  memoryMiB: 512,
  allow: [control.endpoint],
  timeoutMs: 60_000,
  ...over,
});

describe('the gate through the smolvm stand-in', { timeout: 120_000 }, () => {
  it('runs its commands through machine exec, reads egress-events, and fails a "guest" that reaches the host loopback', async () => {
    const kvm = join(dir, 'kvm');
    await writeFile(kvm, '');
    const env = {
      ...process.env,
      XDG_DATA_HOME: join(dir, 'data'),
      FAKE_SMOLVM_ARGV_LOG: argvLog,
      FAKE_SMOLVM_NODE: process.execPath,
      // smolvm's denial log names one destination the probes aim at: the engine port.
      FAKE_SMOLVM_EGRESS_EVENTS: JSON.stringify([
        {
          time: '2026-12-06T00:00:00Z',
          dst: '127.0.0.1',
          dport: 2375,
          proto: 'tcp',
          action: 'deny',
        },
      ]),
    };
    const driver = new SmolvmDriver({
      smolvm: SMOLVM,
      env,
      platform: 'linux',
      kvmPath: kvm,
      loopback: { dir: join(dir, 'loopback'), listening: async () => new Set() },
    });
    const handle = await driver.start(spec({ backend: 'smolvm', image: 'alpine' }));
    await driver.ready(handle, 30_000);
    const started = (await recorded()).length;
    try {
      const run = await runGate({
        driver,
        handle,
        allow: [control.endpoint],
        controlTokens: async () => control.tokens,
        waitS: 1,
        hostAddresses: [],
      });
      // The control went straight to the endpoint's own address, as TSI carries it.
      const controlRow = run.rows.find((r) => r.expected === 'reachable');
      expect(controlRow).toMatchObject({
        address: `127.0.0.1:${control.endpoint.port}`,
        verdict: 'ok',
        evidence: 'token in the endpoint log',
      });
      // The stand-in is no sandbox: the host's loopback canary answers, and the gate says so.
      expect(run.verdict).toBe('fail');
      expect(run.escapes).toContainEqual(
        expect.objectContaining({
          canary: 'tcp-loopback',
          target: expect.stringMatching(
            /^canary tcp-loopback \(127\.0\.0\.1:\d+\) via the gateway$/,
          ),
          peer: expect.stringMatching(/^127\.0\.0\.1:/),
        }),
      );
      // egress-events is extra evidence: the refused engine port says so in its row.
      expect(run.backendEvents).toHaveLength(1);
      expect(run.rows.find((r) => r.address === '127.0.0.1:2375')).toMatchObject({
        kind: 'engine',
        verdict: 'ok',
        evidence: 'refused by smolvm (egress-events)',
      });
      expect(run.notes).toEqual([
        'smolvm egress-events: 1 refused connection(s) logged, 1 matching a probe',
      ]);

      const gate = (await recorded()).slice(started);
      const exec = (argv: string[]) => argv.slice(0, 4).join(' ') === 'machine exec --name gated';
      expect(
        gate.every((a) => exec(a) || a.join(' ') === 'machine egress-events --name gated --json'),
      ).toBe(true);
      const commands = gate.map((a) => a.slice(a.indexOf('--') + 1));
      // 1. one look at the guest: its resolvers, and its own busybox if it is the host's.
      expect(commands[0]?.slice(0, 2)).toEqual(['sh', '-c']);
      expect(commands[0]?.[2]).toContain('/etc/resolv.conf');
      // 2. the script goes in over exec's stdin (smolvm has no copy), then the runtime is checked.
      expect(gate).toContainEqual([
        'machine',
        'exec',
        '--name',
        'gated',
        '--timeout',
        expect.stringMatching(/^\d+s$/),
        '-i',
        '--',
        'sh',
        '-c',
        'mkdir -p "$(dirname "$1")" && cat > "$1"',
        'sh',
        GUEST_SCRIPT,
      ]);
      expect(commands).toContainEqual([
        'sh',
        '-c',
        expect.stringContaining('vm-tools-gate-runtime-ok'),
      ]);
      // 3. the probes run on the copied-in runtime, then smolvm's denial log is read.
      expect(commands).toContainEqual([GUEST_RUNTIME, 'sh', GUEST_SCRIPT]);
      expect(gate.at(-1)).toEqual(['machine', 'egress-events', '--name', 'gated', '--json']);
    } finally {
      await driver.delete(handle);
    }
  });
});

describe('the gate through the limactl stand-in', { timeout: 120_000 }, () => {
  it('aims at host.lima.internal through limactl shell/copy, and a control that cannot get there is broken, never pass', async () => {
    const env = {
      ...process.env,
      LIMA_HOME: join(dir, 'lima'),
      FAKE_LIMACTL_ARGV_LOG: argvLog,
      FAKE_LIMACTL_AS_USER: '1',
      FAKE_LIMACTL_NODE: process.execPath,
    };
    const driver = new LimaDriver({
      limactl: LIMACTL,
      env,
      uid: () => 1000,
      platform: 'linux',
      kvmPath: join(dir, 'no-kvm'),
    });
    const handle = await driver.start(spec({ backend: 'lima', template: TEMPLATE }));
    await driver.ready(handle, 30_000);
    const started = (await recorded()).length;
    try {
      const run = await runGate({
        driver,
        handle,
        allow: [control.endpoint],
        controlTokens: async () => control.tokens,
        waitS: 1,
        hostAddresses: [],
      });
      // Lima's guest reaches the host's loopback at 192.168.5.2; this host has no such address.
      expect(run.rows.find((r) => r.expected === 'reachable')).toMatchObject({
        address: `192.168.5.2:${control.endpoint.port}`,
        verdict: 'broken',
      });
      expect(run.verdict).not.toBe('pass');
      expect(run.problems.join('\n')).toMatch(
        /positive control p1 \(allowed 127\.0\.0\.1:\d+\) failed: guest blocked/,
      );
      expect(run.rows.map((r) => r.address)).toContain('192.168.5.3:53');

      const gate = (await recorded()).slice(started);
      expect(gate).toContainEqual([
        'shell',
        '--tty=false',
        'gated',
        '--',
        'sh',
        '-c',
        expect.stringContaining('/etc/resolv.conf'),
      ]);
      expect(gate).toContainEqual([
        'copy',
        '--tty=false',
        expect.stringMatching(/probes\.sh$/),
        `gated:${GUEST_SCRIPT}`,
      ]);
      expect(gate).toContainEqual([
        'shell',
        '--tty=false',
        'gated',
        '--',
        GUEST_RUNTIME,
        'sh',
        GUEST_SCRIPT,
      ]);
      // Lima keeps no egress log: nothing else is asked of it.
      expect(gate.every((a) => a[0] === 'shell' || a[0] === 'copy' || a[0] === 'list')).toBe(true);
      expect(run.backendEvents).toBeUndefined();
    } finally {
      await driver.delete(handle);
      expect(existsSync(join(dir, 'lima', 'gated'))).toBe(false);
    }
  });
});
