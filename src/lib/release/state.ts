import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic.js';

/**
 * What the last rehearsal built and smoke-tested, so a re-run skips an agent
 * whose image is unchanged and whose tarball is still the file it produced
 * (same size and mtime: no re-hash of large files).
 */
export interface BuiltRecord {
  imageId: string;
  path: string;
  key: string;
  sha256: string;
  sizeBytes: number;
  mtimeMs: number;
}

export type ReleaseState = Record<string, BuiltRecord>;

const STATE_FILE = 'release-state.json';

export async function readState(workDir: string): Promise<ReleaseState> {
  try {
    return JSON.parse(await readFile(join(workDir, STATE_FILE), 'utf8')) as ReleaseState;
  } catch {
    return {};
  }
}

export async function writeState(workDir: string, state: ReleaseState): Promise<void> {
  await writeFileAtomic(join(workDir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}

/** True when `record` still describes the file on disk and the image it came from. */
export async function isUnchanged(
  record: BuiltRecord | undefined,
  imageId: string,
  path: string,
): Promise<boolean> {
  if (!record || record.imageId !== imageId || record.path !== path) return false;
  const [file, sidecar] = await Promise.all([
    stat(path).catch(() => undefined),
    stat(`${path}.sha256`).catch(() => undefined),
  ]);
  return Boolean(
    file && sidecar && file.size === record.sizeBytes && file.mtimeMs === record.mtimeMs,
  );
}
