import { cp, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HydrateInputs } from '../../../src/commands/hydrate-cache.js';
import {
  type CacheService,
  cacheKeyPrefix,
  hydrateWithActionsCache,
  UNAVAILABLE_NOTICE,
} from '../../../src/lib/cache/actions-cache.js';
import type { Context } from '../../../src/lib/command/types.js';
import { sha256Hex } from '../../../src/lib/fs/hash.js';
import { keysOf, makeBucket } from '../../support/bucket.js';

/**
 * The GitHub cache service exists only on GitHub's runners, so this stands in
 * for it: a store of directory snapshots keyed like the real one (exact key,
 * then newest entry with a restore-key prefix).
 */
function fakeCacheService(available = true) {
  const entries: { key: string; dir: string }[] = [];
  const calls: string[] = [];
  const service: CacheService = {
    isFeatureAvailable: () => available,
    async restoreCache(paths, key, restoreKeys = []) {
      calls.push(`restore ${key} [${restoreKeys.join(',')}]`);
      const hit =
        entries.find((e) => e.key === key) ??
        [...entries].reverse().find((e) => restoreKeys.some((p) => e.key.startsWith(p)));
      if (!hit) return undefined;
      await cp(hit.dir, paths[0] as string, { recursive: true });
      return hit.key;
    },
    async saveCache(paths, key) {
      calls.push(`save ${key}`);
      const dir = await mkdtemp(join(tmpdir(), 'vm-tools-fake-cache-'));
      await cp(paths[0] as string, dir, { recursive: true });
      entries.push({ key, dir });
      return entries.length;
    },
  };
  return { service, calls };
}

function context(): Context & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    log: {
      info: (m) => lines.push(m),
      warning: (m) => lines.push(`warning: ${m}`),
      debug: () => {},
      group: (_t, fn) => fn(),
    },
    env: {},
    cwd: tmpdir(),
    maskSecret: () => {},
    saveState: () => {},
    getState: () => '',
  };
}

const inputs = (manifestUrl: string, cacheDir: string): HydrateInputs => ({
  manifestUrl,
  cacheDir,
  arch: 'x64',
  agents: [],
  concurrency: 2,
  prune: false,
  actionsCache: true,
});

describe('hydrateWithActionsCache', () => {
  it('keys by arch and the remote manifest sha256; a second runner restores instead of downloading', async () => {
    const bucket = await makeBucket({ solo: 10_000 });
    const manifestSha = sha256Hex(await readFile(join(bucket.root, 'vm', 'manifest.json')));
    const { service, calls } = fakeCacheService();
    const notices: string[] = [];
    const deps = { cache: service, notice: (m: string) => notices.push(m) };

    const runner1 = await mkdtemp(join(tmpdir(), 'vm-tools-r1-'));
    const first = await hydrateWithActionsCache(inputs(bucket.fileUrl, runner1), context(), deps);
    expect(first.outputs).toMatchObject({ 'cache-hit': 'false', skipped: 'false' });
    expect(JSON.parse(first.outputs.downloaded ?? '')).toEqual(keysOf(bucket, 'x64'));
    expect(calls).toEqual([
      `restore vm-tools-x64-${manifestSha} [vm-tools-x64-]`,
      `save vm-tools-x64-${manifestSha}`,
    ]);

    const runner2 = await mkdtemp(join(tmpdir(), 'vm-tools-r2-'));
    const second = await hydrateWithActionsCache(inputs(bucket.fileUrl, runner2), context(), deps);
    expect(second.outputs).toMatchObject({
      'cache-hit': 'true',
      downloaded: '[]',
      skipped: 'true',
    });
    // Nothing downloaded: nothing new to save.
    expect(calls).toHaveLength(3);
    expect(notices).toEqual([]);
    expect((await readdir(join(runner2, 'vm', 'images'))).length).toBe(1);
  });

  it('off GitHub: one notice, no restore or save, and the sync still runs', async () => {
    const bucket = await makeBucket({ solo: 1000 });
    const { service, calls } = fakeCacheService(false);
    const notices: string[] = [];
    const dir = await mkdtemp(join(tmpdir(), 'vm-tools-r-'));
    const result = await hydrateWithActionsCache(inputs(bucket.fileUrl, dir), context(), {
      cache: service,
      notice: (m) => notices.push(m),
    });
    expect(notices).toEqual([UNAVAILABLE_NOTICE]);
    expect(calls).toEqual([]);
    expect(result.outputs['cache-hit']).toBe('false');
    expect(JSON.parse(result.outputs.downloaded ?? '')).toHaveLength(1);
  });

  it('a failing cache service is a warning, not a failed step', async () => {
    const bucket = await makeBucket({ solo: 1000 });
    const service: CacheService = {
      isFeatureAvailable: () => true,
      restoreCache: async () => {
        throw new Error('cache service down');
      },
      saveCache: async () => {
        throw new Error('reserve failed');
      },
    };
    const ctx = context();
    const dir = await mkdtemp(join(tmpdir(), 'vm-tools-r-'));
    const result = await hydrateWithActionsCache(inputs(bucket.fileUrl, dir), ctx, {
      cache: service,
    });
    expect(result.outputs.skipped).toBe('false');
    expect(ctx.lines).toContain(
      'warning: Actions cache restore failed, hydrating without it: cache service down',
    );
    expect(ctx.lines).toContain('warning: Actions cache save failed: reserve failed');
  });

  it('derives the key prefix from the resolved arch', () => {
    expect(cacheKeyPrefix({ arch: 'all' })).toBe('vm-tools-all-');
    expect(cacheKeyPrefix({ arch: 'host' }, 'arm64')).toBe('vm-tools-arm64-');
    expect(() => cacheKeyPrefix({ arch: 'host' }, 'arm')).toThrow('unsupported host arch: arm');
  });
});
