import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INDEX_FILE, type SyncOptions, syncCache } from '../../src/lib/cache/index.js';
import {
  type Bucket,
  keysOf,
  makeBucket,
  putArtifact,
  tmp,
  writeManifest,
} from '../support/bucket.js';
import { type FaultServer, startFaultServer } from '../support/fault-server.js';

const fast = { retry: { attempts: 3, baseMs: 1, maxMs: 5 } };

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

for (const transport of ['http', 'file'] as const) {
  describe(`syncCache over ${transport}`, () => {
    let bucket: Bucket;
    let server: FaultServer;
    const manifestUrl = () =>
      transport === 'http' ? `${server.url}vm/manifest.json` : bucket.fileUrl;
    const artifactGets = () =>
      server.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/vm/images/'));
    const sync = (cacheDir: string, extra: Partial<SyncOptions> = {}) =>
      syncCache({ manifestUrl: manifestUrl(), cacheDir, hostArch: 'x64', ...fast, ...extra });

    beforeAll(async () => {
      bucket = await makeBucket();
      server = await startFaultServer(bucket.root);
    });
    afterAll(() => server.close());

    it('1: a fresh cache gets the host-arch tarballs, verified, and the manifest last', async () => {
      const cacheDir = join(await tmp('cache'), 'nested', 'cache');
      server.requests.length = 0;
      const result = await sync(cacheDir);
      const x64 = keysOf(bucket, 'x64');
      expect(result).toMatchObject({
        downloaded: x64,
        manifestPath: join(cacheDir, 'vm', 'manifest.json'),
        skipped: false,
        arches: ['x64'],
      });
      for (const key of x64) {
        expect((await readFile(join(cacheDir, key))).equals(bucket.files.get(key) as Buffer)).toBe(
          true,
        );
      }
      expect(await readFile(result.manifestPath, 'utf8')).toBe(
        await readFile(join(bucket.root, 'vm', 'manifest.json'), 'utf8'),
      );
      const manifestTime = (await stat(result.manifestPath)).mtimeMs;
      for (const key of x64) {
        expect((await stat(join(cacheDir, key))).mtimeMs).toBeLessThanOrEqual(manifestTime);
      }
      expect(await listFiles(cacheDir)).toEqual([INDEX_FILE, ...x64, 'vm/manifest.json'].sort());
      if (transport === 'http') {
        expect(
          artifactGets()
            .map((r) => r.path.slice(1))
            .sort(),
        ).toEqual([...x64].sort());
      }
    });

    it('2: nothing changed: only the manifest is fetched, nothing downloaded or re-hashed', async () => {
      const cacheDir = await tmp('cache');
      await sync(cacheDir);
      // Same size, same mtime, different bytes: only a re-hash could notice, and it must not happen.
      const key = keysOf(bucket, 'x64')[0] as string;
      const path = join(cacheDir, key);
      // A whole-second mtime can be restored exactly; the sync records it (one honest re-hash).
      const when = new Date('2026-01-01T00:00:00Z');
      await utimes(path, when, when);
      expect(await sync(cacheDir)).toMatchObject({ adopted: [key], downloaded: [] });
      await writeFile(path, randomBytes((await stat(path)).size));
      await utimes(path, when, when);
      server.requests.length = 0;
      const result = await sync(cacheDir);
      expect(result.downloaded).toEqual([]);
      expect(result.adopted).toEqual([]);
      expect(result.skipped).toBe(true);
      if (transport === 'http') {
        expect(server.requests).toEqual([{ method: 'GET', path: '/vm/manifest.json' }]);
      }
      // Touching it (a real rewrite changes the mtime) sends it back through a full hash.
      await utimes(path, new Date(), new Date(Date.now() + 5_000));
      const again = await sync(cacheDir);
      expect(again.downloaded).toEqual([key]);
      expect((await readFile(path)).equals(bucket.files.get(key) as Buffer)).toBe(true);
    });

    it('3: manifest equal but a file missing or of another size: downloads just that file', async () => {
      const cacheDir = await tmp('cache');
      await sync(cacheDir);
      const [a, b] = keysOf(bucket, 'x64') as [string, string];
      await rm(join(cacheDir, a));
      await writeFile(join(cacheDir, b), 'short');
      server.requests.length = 0;
      const result = await sync(cacheDir);
      expect(result.downloaded).toEqual([a, b]);
      expect(result.skipped).toBe(false);
      if (transport === 'http') {
        expect(
          artifactGets()
            .map((r) => r.path.slice(1))
            .sort(),
        ).toEqual([a, b].sort());
      }
      expect((await readFile(join(cacheDir, b))).equals(bucket.files.get(b) as Buffer)).toBe(true);
    });

    it('4: no local manifest but files with the right sha256: adopted, not downloaded', async () => {
      const cacheDir = await tmp('cache');
      const [a, b] = keysOf(bucket, 'x64') as [string, string];
      await mkdir(join(cacheDir, 'vm', 'images'), { recursive: true });
      await writeFile(join(cacheDir, a), bucket.files.get(a) as Buffer);
      // Right size, wrong content: must be replaced, not adopted.
      await writeFile(join(cacheDir, b), randomBytes((bucket.files.get(b) as Buffer).length));
      server.requests.length = 0;
      const result = await sync(cacheDir);
      expect(result.adopted).toEqual([a]);
      expect(result.downloaded).toEqual([b]);
      if (transport === 'http') expect(artifactGets().map((r) => r.path)).toEqual([`/${b}`]);
      expect(await readFile(result.manifestPath, 'utf8')).toContain(a);
      // And now it is indexed: the next sync trusts it without hashing.
      const next = await sync(cacheDir);
      expect(next).toMatchObject({ skipped: true, downloaded: [], adopted: [] });
    });

    it('5: only the artifacts whose sha256 changed are downloaded', async () => {
      const cacheDir = await tmp('cache');
      await sync(cacheDir, { arch: 'all' });
      const changed = await putArtifact(bucket, 'hermes', 'arm64', randomBytes(1000));
      await writeManifest(bucket);
      server.requests.length = 0;
      const result = await sync(cacheDir, { arch: 'all' });
      expect(result.downloaded).toEqual([changed]);
      expect(result.arches).toEqual(['arm64', 'x64']);
      if (transport === 'http') expect(artifactGets().map((r) => r.path)).toEqual([`/${changed}`]);
      expect((await readFile(join(cacheDir, changed))).length).toBe(1000);
    });

    it('6: a sha256 mismatch fails naming both digests; no file, partial or manifest is left', async () => {
      const evil = await makeBucket({ evil: 5000 });
      const key = keysOf(evil, 'x64')[0] as string;
      const real = evil.manifest.agents.evil?.tarballs.x64;
      if (!real) throw new Error('fixture');
      const claimed = 'a'.repeat(64);
      real.sha256 = claimed;
      await writeManifest(evil);
      const evilServer = await startFaultServer(evil.root);
      try {
        const cacheDir = await tmp('cache');
        const url = transport === 'http' ? `${evilServer.url}vm/manifest.json` : evil.fileUrl;
        await expect(
          syncCache({ manifestUrl: url, cacheDir, hostArch: 'x64', ...fast }),
        ).rejects.toThrow(
          `sha256 mismatch for ${key}: expected ${claimed}, got ${(await import('../../src/lib/fs/hash.js')).sha256Hex(evil.files.get(key) as Buffer)}`,
        );
        expect(await listFiles(cacheDir)).toEqual([]);
        if (transport === 'http') expect(evilServer.gets(`/${key}`)).toHaveLength(1);
      } finally {
        await evilServer.close();
      }
    });

    it('9: an unsupported host arch fails before any request and writes nothing', async () => {
      const parent = await tmp('cache');
      server.requests.length = 0;
      await expect(sync(join(parent, 'c'), { hostArch: 'arm' })).rejects.toThrow(
        'unsupported host arch: arm',
      );
      expect(server.requests).toEqual([]);
      expect(await readdir(parent)).toEqual([]);
    });

    it('11: a missing artifact names the URL and status; the manifest is not written', async () => {
      const broken = await makeBucket({ gone: 100 });
      const key = keysOf(broken, 'x64')[0] as string;
      await rm(join(broken.root, key));
      const s = await startFaultServer(broken.root);
      try {
        const cacheDir = await tmp('cache');
        const url = transport === 'http' ? `${s.url}vm/manifest.json` : broken.fileUrl;
        const expected =
          transport === 'http'
            ? `GET ${s.url}${key} failed: HTTP 404 Not Found`
            : `read ${broken.fileUrl.replace('vm/manifest.json', key)} failed: ENOENT`;
        await expect(syncCache({ manifestUrl: url, cacheDir, hostArch: 'x64' })).rejects.toThrow(
          expected,
        );
        // 404 is not transient: asked once, not retried.
        if (transport === 'http') expect(s.gets(`/${key}`)).toHaveLength(1);
        expect(await listFiles(cacheDir)).toEqual([]);
      } finally {
        await s.close();
      }
    });

    it('12: artifacts the manifest no longer names are removed only with prune', async () => {
      const own = await makeBucket({ keep: 100, drop: 100 });
      const cacheDir = await tmp('cache');
      const url = transport === 'http' ? undefined : own.fileUrl;
      const s = await startFaultServer(own.root);
      try {
        const opts = {
          manifestUrl: url ?? `${s.url}vm/manifest.json`,
          cacheDir,
          hostArch: 'x64',
          arch: 'all' as const,
        };
        await syncCache(opts);
        const dropped = keysOf(own).filter((k) => k.includes('drop-'));
        delete own.manifest.agents.drop;
        await writeManifest(own);
        const kept = await syncCache(opts);
        expect(kept.pruned).toEqual([]);
        for (const key of dropped) await stat(join(cacheDir, key));
        const pruned = await syncCache({ ...opts, prune: true });
        expect(pruned.pruned).toEqual(dropped.sort());
        expect(await listFiles(cacheDir)).toEqual(
          [INDEX_FILE, ...keysOf(own), 'vm/manifest.json'].sort(),
        );
        const index = JSON.parse(await readFile(join(cacheDir, INDEX_FILE), 'utf8'));
        expect(Object.keys(index.files).sort()).toEqual(keysOf(own).sort());
      } finally {
        await s.close();
      }
    });

    it('reads VM_TOOLS_MANIFEST_URL when no URL is given, and filters by agent', async () => {
      const cacheDir = await tmp('cache');
      const result = await syncCache({
        cacheDir,
        hostArch: 'arm64',
        agents: ['hermes'],
        env: { VM_TOOLS_MANIFEST_URL: manifestUrl() },
      });
      expect(result.downloaded).toEqual(
        keysOf(bucket, 'arm64').filter((k) => k.includes('hermes')),
      );
      await expect(
        syncCache({ cacheDir, hostArch: 'arm64', agents: ['nope'], manifestUrl: manifestUrl() }),
      ).rejects.toThrow('agent "nope" is not in the manifest (it has: hermes, openclaw)');
      await expect(syncCache({ cacheDir, env: {} })).rejects.toThrow(
        'no manifest URL: pass manifestUrl or set VM_TOOLS_MANIFEST_URL',
      );
    });
  });
}
