import { resolve } from 'node:path';
import { type SyncOptions, type SyncResult, syncCache } from './sync.js';

/** One in-flight sync per cache directory, shared by everyone who asks meanwhile. */
const inflight = new Map<string, Promise<SyncResult>>();

/**
 * Starts a sync of `options.cacheDir`, or returns the one already running for
 * that directory (the very same promise: its options win). Once it settles it is
 * forgotten, so a failed sync is retried from scratch by the next call. Safe to
 * fire and forget at start-up: a failure is not an unhandled rejection; it
 * reaches whoever awaits this promise or calls `ensureAvailable`.
 */
export function prefetch(options: SyncOptions): Promise<SyncResult> {
  const dir = resolve(options.cacheDir);
  const running = inflight.get(dir);
  if (running) return running;
  const promise = syncCache(options).finally(() => {
    if (inflight.get(dir) === promise) inflight.delete(dir);
  });
  promise.catch(() => {});
  inflight.set(dir, promise);
  return promise;
}

/**
 * Resolves once the cache matches the manifest: joins a running prefetch, and
 * if that one fails, starts a fresh sync instead of handing back its error.
 */
export async function ensureAvailable(options: SyncOptions): Promise<SyncResult> {
  const running = inflight.get(resolve(options.cacheDir));
  if (running) {
    try {
      return await running;
    } catch {
      // That attempt is cleared already; try again from scratch below.
    }
  }
  return prefetch(options);
}

/** Whether a sync of `cacheDir` is in flight in this process. */
export function isSyncing(cacheDir: string): boolean {
  return inflight.has(resolve(cacheDir));
}
