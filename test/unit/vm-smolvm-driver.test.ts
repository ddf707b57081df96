import { execFile, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VmSpec } from '../../src/lib/vm/driver.js';
import {
  allowlistOf,
  kvmProblem,
  SmolvmDriver,
  type SmolvmDriverOptions,
  smolvmArgv,
} from '../../src/lib/vm/smolvm.js';

// smolvm cannot be installed on the test machines (and needs KVM): these tests
// drive the real driver against test/fixtures/smolvm, a stand-in that keeps the
// smolvm 1.9 CLI contract, records every argv, and keeps its machines in a real
// SQLite state DB with smolvm's schema.
const SMOLVM = join(import.meta.dirname, '../fixtures/smolvm/smolvm');
const run = promisify(execFile);

let dir: string;
let argvLog: string;
let dbPath: string;
let kvm: string;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vm-tools-smolvm-'));
  argvLog = join(dir, 'argv.log');
  dbPath = join(dir, 'data', 'smolvm', 'server', 'smolvm.db');
  kvm = join(dir, 'kvm');
  await writeFile(kvm, '');
  env = {
    ...process.env,
    XDG_DATA_HOME: join(dir, 'data'),
    FAKE_SMOLVM_ARGV_LOG: argvLog,
    FAKE_SMOLVM_NODE: process.execPath,
  };
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const spec = (over: Partial<VmSpec> = {}): VmSpec => ({
  name: 'agent',
  backend: 'smolvm',
  accel: 'auto',
  cpus: 1,
  memoryMiB: 512,
  allow: [{ host: '10.1.2.3', port: 8080 }],
  timeoutMs: 60_000,
  image: 'alpine',
  ...over,
});

const driver = (over: Partial<SmolvmDriverOptions> = {}) =>
  new SmolvmDriver({
    smolvm: SMOLVM,
    env,
    platform: 'linux',
    kvmPath: kvm,
    loopback: { dir: join(dir, 'loopback'), listening: async () => new Set() },
    ...over,
  });

async function recorded(): Promise<string[][]> {
  const text = await readFile(argvLog, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string[]);
}

function row(name: string) {
  const db = new DatabaseSync(dbPath);
  try {
    const r = db.prepare('SELECT typeof(data) AS type, data FROM vms WHERE name = ?').get(name) as
      | { type: string; data: Uint8Array }
      | undefined;
    return (
      r && {
        type: r.type,
        doc: JSON.parse(Buffer.from(r.data).toString()) as Record<string, unknown>,
      }
    );
  } finally {
    db.close();
  }
}

/** A state DB that already exists (smolvm made it earlier) with a trigger that undoes every update. */
async function dbThatRevertsUpdates() {
  await mkdir(join(dir, 'data', 'smolvm', 'server'), { recursive: true });
  const db = new DatabaseSync(dbPath);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('CREATE TABLE vms (name TEXT PRIMARY KEY, data BLOB)');
  db.exec(
    `CREATE TRIGGER revert AFTER UPDATE ON vms BEGIN UPDATE vms SET data = OLD.data WHERE name = NEW.name; END`,
  );
  db.close();
}

describe('SmolvmDriver preflight', { timeout: 60_000 }, () => {
  it('accepts smolvm ≥ 1.9.0 with a usable /dev/kvm', async () => {
    const report = await driver().preflight(spec());
    expect(report).toEqual({ accel: 'kvm', notes: ['smolvm 1.9.2', `state DB: ${dbPath}`] });
    expect(await recorded()).toEqual([['--version']]);
  });

  it('refuses an older smolvm, naming the minimum and the fix', async () => {
    env.FAKE_SMOLVM_VERSION = '1.8.4';
    await expect(driver().preflight(spec())).rejects.toMatchObject({
      kind: 'unavailable',
      message: expect.stringMatching(
        /smolvm 1\.8\.4 is older than 1\.9\.0.*upgrade smolvm to 1\.9\.0 or newer/,
      ),
    });
  });

  it('refuses a missing smolvm and a missing /dev/kvm, each naming its fix', async () => {
    await expect(driver({ smolvm: join(dir, 'nope') }).preflight(spec())).rejects.toMatchObject({
      kind: 'unavailable',
      message: expect.stringContaining('install smolvm 1.9.0 or newer'),
    });
    await expect(driver({ kvmPath: join(dir, 'no-kvm') }).preflight(spec())).rejects.toMatchObject({
      kind: 'unavailable',
      message: expect.stringContaining(
        'is missing: load kvm-intel or kvm-amd and enable virtualization in firmware',
      ),
    });
    expect(kvmProblem('denied', '/dev/kvm')).toBe(
      '/dev/kvm is not readable and writable by this user: add your user to the kvm group, or on GitHub-hosted runners install the udev rule giving /dev/kvm mode 0666',
    );
    await expect(driver().preflight(spec({ accel: 'tcg' }))).rejects.toMatchObject({
      kind: 'invalid',
    });
    await expect(driver().preflight(spec({ name: '-x' }))).rejects.toMatchObject({
      kind: 'invalid',
    });
  });

  it('a /dev/kvm this user cannot open is "denied" (checked as nobody, since root opens anything)', async () => {
    await chmod(kvm, 0o600);
    await chmod(dir, 0o755);
    const probe = `import(${JSON.stringify(join(import.meta.dirname, '../../src/lib/vm/kvm-access.ts'))})
      .then((m) => m.kvmAccess(${JSON.stringify(kvm)})).then((a) => process.stdout.write(a));`;
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(
        process.execPath,
        ['--experimental-strip-types', '--no-warnings', '-e', probe],
        {
          uid: 65534,
          gid: 65534,
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let text = '';
      p.stdout.on('data', (d) => (text += d));
      p.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}`))));
    });
    expect(out).toBe('denied');
  });
});

describe('SmolvmDriver against the stand-in smolvm', { timeout: 60_000 }, () => {
  it('creates with the allowlist, confirms it in the DB, then starts; exec and delete -f', async () => {
    const smolvm = driver();
    const handle = await smolvm.start(spec());
    expect(handle.state).toMatchObject({
      accel: 'kvm',
      loopback: '127.0.0.2',
      allowedCidrs: ['10.1.2.3/32', '127.0.0.2/32'],
      dbPath,
    });
    expect(row('agent')).toEqual({
      type: 'blob',
      doc: expect.objectContaining({
        allowed_cidrs: ['10.1.2.3/32', '127.0.0.2/32'],
        state: 'running',
      }),
    });
    await smolvm.ready(handle, 30_000);

    const ran = await smolvm.exec(handle, ['sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect(ran).toMatchObject({ exitCode: 7, timedOut: false });
    expect(ran.stdout.toString()).toBe('out\n');
    expect(ran.stderr.toString()).toBe('err\n');
    const slow = await smolvm.exec(handle, ['sleep', '30'], { timeoutMs: 300 });
    expect(slow.timedOut).toBe(true);

    const source = join(dir, 'payload');
    await writeFile(source, 'bytes for the guest');
    const guestPath = join(dir, 'guest', 'sub', 'payload');
    await smolvm.copyIn(handle, source, guestPath);
    expect(await readFile(guestPath, 'utf8')).toBe('bytes for the guest');

    expect(await smolvm.describe(handle)).toMatchObject({
      status: 'running',
      accel: 'kvm',
      details: { loopback: '127.0.0.2', state: 'running' },
    });
    await smolvm.delete(handle);
    expect(row('agent')).toBeUndefined();
    expect((await smolvm.describe(handle)).status).toBe('missing');
    // The address is free again.
    expect((await driver().start(spec({ name: 'next' }))).state.loopback).toBe('127.0.0.2');

    const lines = (await recorded()).filter((l) => l[1] !== 'ls');
    expect(lines[0]).toEqual([
      'machine',
      'create',
      '--name',
      'agent',
      '-I',
      'alpine',
      '--net',
      '--allow-cidr',
      '10.1.2.3/32',
      '--allow-cidr',
      '127.0.0.2/32',
    ]);
    expect(lines[1]).toEqual(['machine', 'start', '--name', 'agent']);
    expect(lines).toContainEqual([
      'machine',
      'exec',
      '--name',
      'agent',
      '--timeout',
      '605s',
      '--',
      'sh',
      '-c',
      'echo out; echo err >&2; exit 7',
    ]);
    expect(lines).toContainEqual([
      'machine',
      'exec',
      '--name',
      'agent',
      '--timeout',
      '6s',
      '--',
      'sleep',
      '30',
    ]);
    expect(lines).toContainEqual([
      'machine',
      'exec',
      '--name',
      'agent',
      '--timeout',
      '605s',
      '-i',
      '--',
      'sh',
      '-c',
      'mkdir -p "$(dirname "$1")" && cat > "$1"',
      'sh',
      guestPath,
    ]);
    expect(lines).toContainEqual(['machine', 'delete', '--name', 'agent', '-f']);
  });

  it('patches an allowlist smolvm failed to persist, then starts', async () => {
    env.FAKE_SMOLVM_CREATE = 'drop-allowlist';
    const handle = await driver().start(spec());
    expect(row('agent')?.doc.allowed_cidrs).toEqual(['10.1.2.3/32', '127.0.0.2/32']);
    expect(row('agent')?.type).toBe('blob');
    expect((await recorded()).map((l) => l[1])).toEqual(['ls', 'create', 'start']);
    await driver().delete(handle);
  });

  it('refuses to start when the patch does not stick: no machine start, the machine deleted, the address freed', async () => {
    await dbThatRevertsUpdates();
    env.FAKE_SMOLVM_CREATE = 'drop-allowlist';
    await expect(driver().start(spec())).rejects.toMatchObject({
      kind: 'start_failed',
      message: expect.stringContaining(
        'the patch of "agent" did not stick: wanted ["10.1.2.3/32","127.0.0.2/32"], the DB still holds []',
      ),
    });
    const lines = await recorded();
    expect(lines.map((l) => l.slice(0, 2).join(' '))).not.toContain('machine start');
    expect(lines).toContainEqual(['machine', 'delete', '--name', 'agent', '-f']);
    expect(row('agent')).toBeUndefined();
    await expect(
      readFile(join(dir, 'loopback', 'allocations', '127.0.0.2.json')),
    ).rejects.toThrow();
  });

  it('refuses to start when smolvm persisted no row for the machine', async () => {
    env.FAKE_SMOLVM_CREATE = 'no-row';
    await expect(driver().start(spec())).rejects.toThrow(
      /has no row for "agent" \(machines seen: none\)/,
    );
    expect((await recorded()).map((l) => l[1])).not.toContain('start');
  });

  it('refuses to start when the state DB is not where smolvm keeps it', async () => {
    await expect(driver({ dbPath: join(dir, 'elsewhere.db') }).start(spec())).rejects.toThrow(
      `no smolvm state DB at ${join(dir, 'elsewhere.db')}`,
    );
    expect((await recorded()).map((l) => l[1])).toEqual(['ls', 'create', 'delete']);
  });

  it('refuses to create over an existing machine, and leaves it and its address alone', async () => {
    const first = await driver().start(spec());
    await expect(driver().start(spec())).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('a smolvm machine named agent already exists (running)'),
    });
    expect(row('agent')?.doc.state).toBe('running');
    expect(
      JSON.parse(await readFile(join(dir, 'loopback', 'allocations', '127.0.0.2.json'), 'utf8')),
    ).toMatchObject({
      owner: 'agent',
    });
    expect((await recorded()).map((l) => l[1]).filter((c) => c === 'delete')).toEqual([]);
    await driver().delete(first);
  });

  it('no allowed endpoint means no --net at all (only its own loopback is listed)', () => {
    expect(smolvmArgv.create({ name: 'a', cidrs: [] })).toEqual([
      'machine',
      'create',
      '--name',
      'a',
    ]);
  });

  it('resolves host names itself, so the confirmed list is exactly what was asked for', async () => {
    const cidrs = await allowlistOf(
      [
        { host: 'registry.example', port: 443 },
        { host: '::1', port: 80 },
      ],
      '127.0.0.9',
      async () => ['192.0.2.10', '192.0.2.11'],
    );
    expect(cidrs).toEqual(['127.0.0.9/32', '192.0.2.10/32', '192.0.2.11/32', '::1/128']);
  });

  it('the stand-in, like smolvm, deletes nothing without -f when stdin is closed', async () => {
    await driver().start(spec());
    const prompting = run(SMOLVM, ['machine', 'delete', '--name', 'agent'], { env });
    prompting.child.stdin?.end(); // EOF at the prompt, as from a runner step
    const { stdout } = await prompting;
    expect(stdout).toContain('Cancelled');
    expect(row('agent')).toBeDefined();
    const { stdout: listed } = await run(SMOLVM, ['machine', 'ls', '--json'], { env });
    expect(listed).toMatch(/^\[\n {2}\{\n {4}"name": "agent",/);
    // The driver passes -f, so its delete really deletes.
    await driver().delete({ name: 'agent', backend: 'smolvm', state: {} });
    expect(row('agent')).toBeUndefined();
  });
});
