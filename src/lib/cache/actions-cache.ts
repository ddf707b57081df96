import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { errorMessage } from '../command/errors.js';
import type { CommandResult, Context } from '../command/types.js';
import { sha256Hex } from '../fs/hash.js';
import { withLock } from '../fs/lock.js';
import { defaultCacheDir, type HydrateInputs, hydrate, hydrateResult } from './hydrate.js';
import { resolveArches } from './plan.js';
import { parseManifestUrl } from './source.js';
import { cacheDirLockPath } from './sync.js';
import { fetchBytes } from './transport.js';
import { indexPath } from './verified-index.js';

/** The slice of `@actions/cache` used here (injectable: the real service only exists on GitHub). */
export interface CacheService {
  isFeatureAvailable(): boolean;
  restoreCache(paths: string[], key: string, restoreKeys?: string[]): Promise<string | undefined>;
  saveCache(paths: string[], key: string): Promise<number>;
}

export interface ActionsCacheDeps {
  cache?: CacheService;
  notice?: (message: string) => void;
  hostArch?: string;
  /** How long a restore waits for another process syncing the same directory. */
  lockTimeoutMs?: number;
}

export const UNAVAILABLE_NOTICE =
  'The GitHub Actions cache service is not available here (not running on a GitHub runner?): hydrating without it.';

/** Everything that decides what a hydrated cache directory holds. */
export interface CacheKeyInputs {
  arch: HydrateInputs['arch'];
  agents: readonly string[];
  prune: boolean;
  manifestUrl: string;
  manifestSha256: string;
}

/**
 * `vm-tools-<arch>-<selection>-<manifest sha256>`. The selection hashes what else
 * changes the content: which agents, whether old artifacts are pruned, and which
 * manifest (its URL without the query, which for a pre-signed URL changes on every
 * run while naming the same object). The restore prefix stops before the sha256,
 * so a newer manifest still starts from an older cache of the same selection, and
 * never from a cache of other agents or another bucket.
 */
export function actionsCacheKey(
  inputs: CacheKeyInputs,
  hostArch?: string,
): { key: string; restorePrefix: string } {
  const arch = inputs.arch === 'all' ? 'all' : resolveArches(inputs.arch, hostArch)[0];
  const source = new URL(parseManifestUrl(inputs.manifestUrl).manifestUrl);
  source.search = '';
  source.hash = '';
  const selection = sha256Hex(
    JSON.stringify({
      manifest: source.href,
      agents: [...new Set(inputs.agents)].sort(),
      prune: inputs.prune,
    }),
  ).slice(0, 16);
  const restorePrefix = `vm-tools-${arch}-${selection}-`;
  return { key: `${restorePrefix}${inputs.manifestSha256}`, restorePrefix };
}

/**
 * Restores the cache directory from the Actions cache, syncs it, and saves it
 * when the sync downloaded something. The cache is an accelerator only: when it
 * is unavailable or fails, the sync still runs and the step still succeeds.
 */
export async function hydrateWithActionsCache(
  inputs: HydrateInputs,
  ctx: Context,
  deps: ActionsCacheDeps = {},
): Promise<CommandResult> {
  const source = parseManifestUrl(inputs.manifestUrl);
  const manifestBytes = await fetchBytes(source.manifestUrl, {
    onRetry: (m) => ctx.log.warning(m),
  });
  const { key, restorePrefix } = actionsCacheKey(
    { ...inputs, manifestSha256: sha256Hex(manifestBytes) },
    deps.hostArch,
  );
  const cacheDir = resolve(ctx.cwd, inputs.cacheDir ?? defaultCacheDir(ctx.env));
  // The verified-file index is never cached: see restoreLocked.
  const paths = [cacheDir, `!${indexPath(cacheDir)}`];
  const cache: CacheService = deps.cache ?? (await import('@actions/cache'));
  const notice = deps.notice ?? (await import('@actions/core')).notice;

  const available = cache.isFeatureAvailable();
  let cacheHit = false;
  if (!available) {
    notice(UNAVAILABLE_NOTICE);
  } else {
    try {
      const restored = await withLock(
        cacheDirLockPath(cacheDir),
        () => restoreLocked(cache, paths, key, restorePrefix, cacheDir),
        { timeoutMs: deps.lockTimeoutMs ?? 30 * 60_000, what: `cache directory ${cacheDir}` },
      );
      cacheHit = restored === key;
      ctx.log.info(
        restored
          ? `restored ${cacheDir} from Actions cache ${restored}`
          : `no Actions cache for ${key}`,
      );
    } catch (error) {
      ctx.log.warning(`Actions cache restore failed, hydrating without it: ${errorMessage(error)}`);
    }
  }

  const result = await hydrate({ ...inputs, cacheDir }, ctx, { manifestBytes });

  if (available && result.downloaded.length > 0) {
    try {
      await cache.saveCache(paths, key);
      ctx.log.info(`saved ${cacheDir} to Actions cache ${key}`);
    } catch (error) {
      ctx.log.warning(`Actions cache save failed: ${errorMessage(error)}`);
    }
  }
  return hydrateResult(result, inputs.manifestUrl, cacheHit);
}

/**
 * Under the cache-dir lock, so a restore never unpacks over files another process
 * is syncing. Whatever index a restored archive carries is dropped: it vouches for
 * files by size and mtime, which a tar restore reproduces for any content, so
 * restored files are hashed once by the sync instead of trusted.
 */
async function restoreLocked(
  cache: CacheService,
  paths: string[],
  key: string,
  restorePrefix: string,
  cacheDir: string,
): Promise<string | undefined> {
  const restored = await cache.restoreCache(paths, key, [restorePrefix]);
  if (restored) await rm(indexPath(cacheDir), { force: true });
  return restored;
}
