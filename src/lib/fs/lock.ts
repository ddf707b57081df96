import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import { Backoff, type RetryPolicy } from '../retry.js';

export interface LockOptions {
  /** How long to wait for another holder before failing. */
  timeoutMs?: number;
  /** Names what is locked in the timeout message. */
  what?: string;
  /** How to wait between tries (tests inject a clock and sleep). */
  backoff?: Omit<RetryPolicy, 'deadlineMs' | 'attempts'>;
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
  // Holders keep a lock for milliseconds: start polling fast, never wait long.
  const backoff = new Backoff(
    { ...options.backoff, deadlineMs: timeoutMs },
    { baseMs: 10, maxMs: 400 },
  );
  let release: () => Promise<void>;
  for (;;) {
    try {
      release = await lockfile.lock(path, { realpath: false, stale: 10_000, update: 2_000 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
      const delay = backoff.nextDelayWithinDeadline();
      if (delay === undefined) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for the lock on ${options.what ?? path}`,
        );
      }
      await backoff.sleep(delay);
    }
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => {});
  }
}
