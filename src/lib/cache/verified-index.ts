import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic.js';

/**
 * What was true of each file when it was last verified. A later sync trusts a
 * file whose size and mtime still match instead of re-hashing gigabytes (the
 * same bargain `git status` and rsync make); anything that rewrites the file
 * changes its mtime and sends it back through a full hash.
 */
export interface VerifiedEntry {
  sha256: string;
  sizeBytes: number;
  mtimeMs: number;
}

export const INDEX_FILE = '.vm-tools-index.json';

export type VerifiedIndex = Map<string, VerifiedEntry>;

function indexPath(cacheDir: string): string {
  return join(cacheDir, INDEX_FILE);
}

function isEntry(value: unknown): value is VerifiedEntry {
  const v = value as VerifiedEntry;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.sha256 === 'string' &&
    Number.isSafeInteger(v.sizeBytes) &&
    typeof v.mtimeMs === 'number'
  );
}

/** A missing or unreadable index is an empty one: every file is then hashed once. */
export async function readIndex(cacheDir: string): Promise<VerifiedIndex> {
  const index: VerifiedIndex = new Map();
  try {
    const parsed = JSON.parse(await readFile(indexPath(cacheDir), 'utf8')) as {
      version?: unknown;
      files?: Record<string, unknown>;
    };
    if (parsed.version !== 1 || typeof parsed.files !== 'object' || parsed.files === null)
      return index;
    for (const [key, entry] of Object.entries(parsed.files)) {
      if (isEntry(entry)) index.set(key, entry);
    }
  } catch {
    // Unreadable: start empty.
  }
  return index;
}

export async function writeIndex(cacheDir: string, index: VerifiedIndex): Promise<void> {
  const files: Record<string, VerifiedEntry> = {};
  for (const key of [...index.keys()].sort()) files[key] = index.get(key) as VerifiedEntry;
  await writeFileAtomic(indexPath(cacheDir), `${JSON.stringify({ version: 1, files }, null, 2)}\n`);
}

/** Records a file as verified with `sha256`, using its size and mtime right now. */
export async function recordVerified(
  index: VerifiedIndex,
  key: string,
  path: string,
  sha256: string,
): Promise<void> {
  const info = await stat(path);
  index.set(key, { sha256, sizeBytes: info.size, mtimeMs: info.mtimeMs });
}

/** True when the index vouches for `path` holding `sha256` without reading it. */
export function trusted(
  entry: VerifiedEntry | undefined,
  info: { size: number; mtimeMs: number },
  sha256: string,
): boolean {
  return (
    entry !== undefined &&
    entry.sha256 === sha256 &&
    entry.sizeBytes === info.size &&
    entry.mtimeMs === info.mtimeMs
  );
}
