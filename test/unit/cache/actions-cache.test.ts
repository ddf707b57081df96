import { cp, mkdir, mkdtemp, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HydrateInputs } from '../../../src/commands/hydrate-cache.js';
import {
  actionsCacheKey,
  type CacheKeyInputs,
  type CacheService,
  hydrateWithActionsCache,
  UNAVAILABLE_NOTICE,
} from '../../../src/lib/cache/actions-cache.js';
import { INDEX_FILE } from '../../../src/lib/cache/verified-index.js';
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

    const { key, restorePrefix } = actionsCacheKey({
      ...inputs(bucket.fileUrl, ''),
      manifestSha256: manifestSha,
    });
    expect(key).toBe(`${restorePrefix}${manifestSha}`);
    const runner1 = await mkdtemp(join(tmpdir(), 'vm-tools-r1-'));
    const first = await hydrateWithActionsCache(inputs(bucket.fileUrl, runner1), context(), deps);
    expect(first.outputs).toMatchObject({ 'cache-hit': 'false', skipped: 'false' });
    expect(JSON.parse(first.outputs.downloaded ?? '')).toEqual(keysOf(bucket, 'x64'));
    expect(calls).toEqual([`restore ${key} [${restorePrefix}]`, `save ${key}`]);

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

  it('restores under the cache-dir lock and drops a restored index, re-verifying restored files', async () => {
    const bucket = await makeBucket({ solo: 10_000 });
    const [key] = keysOf(bucket, 'x64') as [string];
    const good = await readFile(join(bucket.root, key));
    const sha = bucket.manifest.agents.solo?.tarballs.x64?.sha256 as string;
    const dir = await mkdtemp(join(tmpdir(), 'vm-tools-poisoned-'));
    let lockedDuringRestore = false;
    const service: CacheService = {
      isFeatureAvailable: () => true,
      // A cache entry whose tarball was swapped for other bytes of the same size,
      // with an index vouching for it: a tar restore reproduces size and mtime.
      async restoreCache(paths) {
        lockedDuringRestore =
          (await stat(`${dir}/.vm-tools.lock`).catch(() => undefined)) !== undefined;
        const path = join(paths[0] as string, key);
        await mkdir(join(path, '..'), { recursive: true });
        await writeFile(path, Buffer.alloc(good.length, 0x41));
        const when = new Date('2026-01-01T00:00:00Z');
        await utimes(path, when, when);
        const info = await stat(path);
        await writeFile(
          join(paths[0] as string, INDEX_FILE),
          JSON.stringify({
            version: 1,
            files: { [key]: { sha256: sha, sizeBytes: info.size, mtimeMs: info.mtimeMs } },
          }),
        );
        return 'vm-tools-x64-old';
      },
      saveCache: async () => 1,
    };
    const result = await hydrateWithActionsCache(inputs(bucket.fileUrl, dir), context(), {
      cache: service,
    });
    expect(lockedDuringRestore).toBe(true);
    expect(JSON.parse(result.outputs.downloaded ?? '')).toEqual([key]);
    expect(await readFile(join(dir, key))).toEqual(good);
  });

  it('saves without the verified-file index', async () => {
    const bucket = await makeBucket({ solo: 1000 });
    const dir = await mkdtemp(join(tmpdir(), 'vm-tools-r-'));
    const saved: string[][] = [];
    await hydrateWithActionsCache(inputs(bucket.fileUrl, dir), context(), {
      cache: {
        isFeatureAvailable: () => true,
        restoreCache: async () => undefined,
        saveCache: async (paths) => {
          saved.push(paths);
          return 1;
        },
      },
    });
    expect(saved).toEqual([[dir, `!${join(dir, INDEX_FILE)}`]]);
  });
});

describe('actionsCacheKey', () => {
  const base: CacheKeyInputs = {
    arch: 'x64',
    agents: [] as string[],
    prune: false,
    manifestUrl: 'https://cdn.example/vm/manifest.json',
    manifestSha256: 'a'.repeat(64),
  };
  const keyOf = (over: Partial<typeof base> = {}) => actionsCacheKey({ ...base, ...over }).key;

  it('changes with everything that changes the cached content', () => {
    const variants = [
      keyOf(),
      keyOf({ arch: 'arm64' }),
      keyOf({ arch: 'all' }),
      keyOf({ agents: ['openclaw'] }),
      keyOf({ agents: ['openclaw', 'hermes'] }),
      keyOf({ prune: true }),
      keyOf({ manifestSha256: 'b'.repeat(64) }),
      keyOf({ manifestUrl: 'https://other.example/vm/manifest.json' }),
      keyOf({ manifestUrl: 'https://cdn.example/staging/vm/manifest.json' }),
    ];
    expect(new Set(variants).size).toBe(variants.length);
  });

  it('stays the same for what does not: agent order and duplicates, a URL signature', () => {
    expect(keyOf({ agents: ['hermes', 'openclaw', 'hermes'] })).toBe(
      keyOf({ agents: ['openclaw', 'hermes'] }),
    );
    expect(
      keyOf({ manifestUrl: 'https://cdn.example/vm/manifest.json?X-Amz-Signature=1&X-Amz-Date=2' }),
    ).toBe(keyOf());
  });

  it('restores across manifests only within the same selection', () => {
    const a = actionsCacheKey(base);
    const b = actionsCacheKey({ ...base, manifestSha256: 'b'.repeat(64) });
    expect(a.restorePrefix).toBe(b.restorePrefix);
    expect(a.key.startsWith(a.restorePrefix)).toBe(true);
    expect(a.restorePrefix).toMatch(/^vm-tools-x64-[0-9a-f]{16}-$/);
    expect(actionsCacheKey({ ...base, agents: ['openclaw'] }).restorePrefix).not.toBe(
      a.restorePrefix,
    );
  });

  it('resolves the host arch, and refuses an unsupported one', () => {
    expect(actionsCacheKey({ ...base, arch: 'host' }, 'arm64').key).toBe(keyOf({ arch: 'arm64' }));
    expect(() => actionsCacheKey({ ...base, arch: 'host' }, 'arm')).toThrow(
      'unsupported host arch: arm',
    );
  });
});
