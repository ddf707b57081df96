import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { confirmAllowlist, smolvmDbPath } from '../../src/lib/vm/sqlite-allowlist.js';

// Real SQLite files with smolvm's schema, in WAL mode as smolvm runs them.
let dir: string;
let dbPath: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vm-tools-smoldb-'));
  dbPath = join(dir, 'smolvm.db');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function createDb(rows: Record<string, unknown>): DatabaseSync {
  const db = new DatabaseSync(dbPath);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('CREATE TABLE vms (name TEXT PRIMARY KEY, data BLOB)');
  const insert = db.prepare('INSERT INTO vms (name, data) VALUES (?, ?)');
  for (const [name, doc] of Object.entries(rows))
    insert.run(name, Buffer.from(JSON.stringify(doc)));
  return db;
}

function stored(db: DatabaseSync, name: string) {
  const row = db.prepare('SELECT typeof(data) AS type, data FROM vms WHERE name = ?').get(name) as {
    type: string;
    data: Uint8Array | string;
  };
  return {
    type: row.type,
    doc: JSON.parse(Buffer.from(row.data).toString()) as Record<string, unknown>,
  };
}

const dataVersion = (db: DatabaseSync) =>
  (db.prepare('PRAGMA data_version').get() as { data_version: number }).data_version;

describe('confirmAllowlist', () => {
  it('writes nothing when the stored list already equals the requested one (any order)', () => {
    const observer = createDb({
      agent: { name: 'agent', allowed_cidrs: ['127.0.0.2/32', '10.0.0.5/32'], state: 'created' },
    });
    const before = dataVersion(observer);
    const walBefore = statSync(`${dbPath}-wal`).size;
    expect(confirmAllowlist(dbPath, 'agent', ['10.0.0.5/32', '127.0.0.2/32'])).toEqual({
      patched: false,
      seen: ['10.0.0.5/32', '127.0.0.2/32'],
    });
    // data_version moves when any other connection commits a change.
    expect(dataVersion(observer)).toBe(before);
    expect(statSync(`${dbPath}-wal`).size).toBe(walBefore);
    observer.close();
  });

  it('patches a wrong list, keeping the other fields, and stores it back as a BLOB', () => {
    const observer = createDb({
      agent: { name: 'agent', allowed_cidrs: [], image: 'alpine', state: 'created' },
      other: { name: 'other', allowed_cidrs: ['0.0.0.0/0'] },
    });
    const before = dataVersion(observer);
    expect(confirmAllowlist(dbPath, 'agent', ['127.0.0.3/32'])).toEqual({
      patched: true,
      seen: [],
    });
    expect(dataVersion(observer)).toBeGreaterThan(before);
    expect(stored(observer, 'agent')).toEqual({
      type: 'blob',
      doc: { name: 'agent', allowed_cidrs: ['127.0.0.3/32'], image: 'alpine', state: 'created' },
    });
    expect(stored(observer, 'other').doc.allowed_cidrs).toEqual(['0.0.0.0/0']);
    observer.close();
  });

  it('patches a row whose list is missing or whose data was stored as TEXT', () => {
    const db = createDb({});
    db.prepare('INSERT INTO vms (name, data) VALUES (?, ?)').run(
      'agent',
      JSON.stringify({ name: 'agent' }),
    );
    expect(stored(db, 'agent').type).toBe('text');
    expect(confirmAllowlist(dbPath, 'agent', ['127.0.0.2/32']).patched).toBe(true);
    expect(stored(db, 'agent')).toEqual({
      type: 'blob',
      doc: { name: 'agent', allowed_cidrs: ['127.0.0.2/32'] },
    });
    db.close();
  });

  it('refuses when there is no DB, and does not create one', () => {
    expect(() => confirmAllowlist(dbPath, 'agent', ['127.0.0.2/32'])).toThrow(
      `refusing to start: cannot confirm the egress allowlist: no smolvm state DB at ${dbPath}`,
    );
    expect(existsSync(dbPath)).toBe(false);
  });

  it('refuses when the machine has no row, naming the machines it saw', () => {
    createDb({ first: { name: 'first' }, second: { name: 'second' } }).close();
    expect(() => confirmAllowlist(dbPath, 'agent', [])).toThrow(
      `${dbPath} has no row for "agent" (machines seen: first, second)`,
    );
  });

  it('refuses when the patch does not stick, naming what the DB still holds', () => {
    const db = createDb({ agent: { name: 'agent', allowed_cidrs: ['0.0.0.0/0'] } });
    // Something (an old smolvm, a racing writer) puts the old data back after every update.
    db.exec(`CREATE TRIGGER revert_allowlist AFTER UPDATE ON vms
             BEGIN UPDATE vms SET data = OLD.data WHERE name = NEW.name; END`);
    let error: unknown;
    try {
      confirmAllowlist(dbPath, 'agent', ['127.0.0.2/32']);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ kind: 'start_failed' });
    expect((error as Error).message).toContain(
      'the patch of "agent" did not stick: wanted ["127.0.0.2/32"], the DB still holds ["0.0.0.0/0"]',
    );
    db.close();
  });

  it('refuses a DB without the vms table', () => {
    new DatabaseSync(dbPath).close();
    expect(existsSync(dbPath)).toBe(true);
    expect(() => confirmAllowlist(dbPath, 'agent', [])).toThrow('has no vms table');
  });

  it('finds the DB where smolvm keeps it', () => {
    expect(smolvmDbPath({ XDG_DATA_HOME: '/x' }, 'linux', '/home/u')).toBe(
      '/x/smolvm/server/smolvm.db',
    );
    expect(smolvmDbPath({}, 'linux', '/home/u')).toBe(
      '/home/u/.local/share/smolvm/server/smolvm.db',
    );
    expect(smolvmDbPath({}, 'darwin', '/Users/u')).toBe(
      '/Users/u/Library/Application Support/smolvm/server/smolvm.db',
    );
  });
});
