import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { VmError } from './driver.js';

/**
 * smolvm persists each machine's egress allowlist in its SQLite state DB
 * (`vms(name TEXT PRIMARY KEY, data BLOB)`, `data` a JSON document with an
 * `allowed_cidrs` array). Several smolvm releases lost the allowlist on some
 * paths (spec vm.md), so the driver confirms what is stored before it lets the
 * machine start, and refuses when it cannot make it right.
 *
 * The DB runs in WAL mode: it is opened with real SQLite (node:sqlite), never
 * read as a file, so committed WAL frames are seen and nothing newer is overwritten.
 */

/** Where smolvm keeps its state DB on this platform. */
export function smolvmDbPath(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  if (platform === 'darwin') {
    return join(home, 'Library', 'Application Support', 'smolvm', 'server', 'smolvm.db');
  }
  const data = env.XDG_DATA_HOME || join(home, '.local', 'share');
  return join(data, 'smolvm', 'server', 'smolvm.db');
}

/** One canonical order, so the stored list and the requested one compare as sets. */
export const canonicalCidrs = (cidrs: readonly string[]): string[] => [...new Set(cidrs)].sort();

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

export interface AllowlistConfirmation {
  /** True when the stored list differed and was patched. */
  patched: boolean;
  /** What the DB held before (canonical order). */
  seen: string[];
}

interface Row {
  data: Uint8Array | string | null;
}

function decode(name: string, row: Row): Record<string, unknown> {
  const text =
    typeof row.data === 'string' ? row.data : Buffer.from(row.data ?? new Uint8Array()).toString();
  try {
    const doc = JSON.parse(text) as unknown;
    if (doc && typeof doc === 'object' && !Array.isArray(doc))
      return doc as Record<string, unknown>;
  } catch {}
  throw refuse(
    `the state row for "${name}" is not a JSON object (saw ${JSON.stringify(text.slice(0, 200))})`,
  );
}

function storedCidrs(doc: Record<string, unknown>): string[] | undefined {
  const list = doc.allowed_cidrs;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list) || !list.every((c) => typeof c === 'string')) return undefined;
  return canonicalCidrs(list);
}

const refuse = (why: string) =>
  new VmError('start_failed', `refusing to start: cannot confirm the egress allowlist: ${why}`);

/**
 * Makes the stored allowlist of machine `name` equal `wanted`, writing only when
 * it differs, and reads it back. Throws VmError('start_failed') — fail closed —
 * when the DB or the row is missing or the stored list still differs afterwards.
 */
export function confirmAllowlist(
  dbPath: string,
  name: string,
  wanted: readonly string[],
): AllowlistConfirmation {
  // DatabaseSync would create a missing file: look first, so "no DB" is seen, not made.
  try {
    if (!statSync(dbPath).isFile()) throw refuse(`${dbPath} is not a file`);
  } catch (error) {
    if (error instanceof VmError) throw error;
    throw refuse(`no smolvm state DB at ${dbPath}`);
  }
  const want = canonicalCidrs(wanted);
  const db = new DatabaseSync(dbPath);
  try {
    // smolvm's own process may be writing: wait for its lock instead of failing at once.
    db.exec('PRAGMA busy_timeout = 5000');
    const table = db
      .prepare("SELECT 1 AS present FROM sqlite_master WHERE type = 'table' AND name = 'vms'")
      .get();
    if (!table) throw refuse(`${dbPath} has no vms table`);
    const read = db.prepare('SELECT data FROM vms WHERE name = ?');
    const readRow = () => read.get(name) as Row | undefined;

    db.exec('BEGIN IMMEDIATE');
    let seen: string[] | undefined;
    try {
      const row = readRow();
      if (!row) {
        const names = (db.prepare('SELECT name FROM vms ORDER BY name').all() as { name: string }[])
          .map((r) => r.name)
          .slice(0, 20);
        throw refuse(
          `${dbPath} has no row for "${name}" (machines seen: ${names.length ? names.join(', ') : 'none'})`,
        );
      }
      const doc = decode(name, row);
      seen = storedCidrs(doc);
      if (seen !== undefined && sameList(seen, want)) {
        db.exec('COMMIT');
        return { patched: false, seen };
      }
      doc.allowed_cidrs = want;
      // A BLOB, as smolvm writes it: smolvm fails to read a row whose data is TEXT.
      db.prepare('UPDATE vms SET data = ? WHERE name = ?').run(
        Buffer.from(JSON.stringify(doc)),
        name,
      );
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }

    const after = readRow();
    const stored = after ? storedCidrs(decode(name, after)) : undefined;
    if (stored === undefined || !sameList(stored, want)) {
      throw refuse(
        `the patch of "${name}" did not stick: wanted ${JSON.stringify(want)}, the DB still holds ${after ? JSON.stringify(stored ?? decode(name, after).allowed_cidrs) : 'no row'}`,
      );
    }
    return { patched: true, seen: seen ?? [] };
  } finally {
    db.close();
  }
}
