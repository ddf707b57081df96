import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';

export interface LockOptions {
  /** How long to wait for another holder before failing. */
  timeoutMs?: number;
  /** Names what is locked in the timeout message. */
  what?: string;
}

/**
 * Runs `fn` holding an exclusive cross-process lock on `path` (a `<path>.lock`
 * directory: mkdir is atomic on every filesystem, and proper-lockfile refreshes
 * its mtime so a holder that died is detected as stale instead of blocking forever).
 */
export async function withLock<T>(
  path: string,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  const timeoutMs = options.timeoutMs ?? 60_000;
  const started = Date.now();
  let release: (() => Promise<void>) | undefined;
  for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
    try {
      release = await lockfile.lock(path, { realpath: false, stale: 10_000, update: 2_000 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
      if (Date.now() - started > timeoutMs) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for the lock on ${options.what ?? path}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay));
    }
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => {});
  }
}
