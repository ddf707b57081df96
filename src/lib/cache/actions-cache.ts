import { resolve } from 'node:path';
import { errorMessage } from '../command/errors.js';
import type { CommandResult, Context } from '../command/types.js';
import { sha256Hex } from '../fs/hash.js';
import { defaultCacheDir, type HydrateInputs, hydrate, hydrateResult } from './hydrate.js';
import { resolveArches } from './plan.js';
import { parseManifestUrl } from './source.js';
import { fetchBytes } from './transport.js';

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
}

export const UNAVAILABLE_NOTICE =
  'The GitHub Actions cache service is not available here (not running on a GitHub runner?): hydrating without it.';

/** `vm-tools-<arch>-`: the restore-key prefix, so a newer manifest still starts from an older cache. */
export function cacheKeyPrefix(inputs: Pick<HydrateInputs, 'arch'>, hostArch?: string): string {
  const label = inputs.arch === 'all' ? 'all' : resolveArches(inputs.arch, hostArch)[0];
  return `vm-tools-${label}-`;
}

/**
 * Restores the cache directory from the Actions cache (key: arch + sha256 of the
 * remote manifest), syncs it, and saves it when the sync downloaded something.
 * The cache is an accelerator only: when it is unavailable or fails, the sync
 * still runs and the step still succeeds.
 */
export async function hydrateWithActionsCache(
  inputs: HydrateInputs,
  ctx: Context,
  deps: ActionsCacheDeps = {},
): Promise<CommandResult> {
  const prefix = cacheKeyPrefix(inputs, deps.hostArch);
  const source = parseManifestUrl(inputs.manifestUrl);
  const manifestBytes = await fetchBytes(source.manifestUrl, {
    onRetry: (m) => ctx.log.warning(m),
  });
  const key = `${prefix}${sha256Hex(manifestBytes)}`;
  const cacheDir = resolve(ctx.cwd, inputs.cacheDir ?? defaultCacheDir(ctx.env));
  const cache: CacheService = deps.cache ?? (await import('@actions/cache'));
  const notice = deps.notice ?? (await import('@actions/core')).notice;

  const available = cache.isFeatureAvailable();
  let cacheHit = false;
  if (!available) {
    notice(UNAVAILABLE_NOTICE);
  } else {
    try {
      const restored = await cache.restoreCache([cacheDir], key, [prefix]);
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
      await cache.saveCache([cacheDir], key);
      ctx.log.info(`saved ${cacheDir} to Actions cache ${key}`);
    } catch (error) {
      ctx.log.warning(`Actions cache save failed: ${errorMessage(error)}`);
    }
  }
  return hydrateResult(result, inputs.manifestUrl, cacheHit);
}
