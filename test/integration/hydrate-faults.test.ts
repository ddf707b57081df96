import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type SyncOptions, syncCache } from '../../src/lib/cache/index.js';
import { sha256Hex } from '../../src/lib/fs/hash.js';
import { type Bucket, keysOf, makeBucket, tmp } from '../support/bucket.js';
import { type Fault, type FaultServer, startFaultServer } from '../support/fault-server.js';

const fast = { retry: { attempts: 3, baseMs: 1, maxMs: 5 } };
const servers: FaultServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(
  bucket: Bucket,
  options: { ranges?: boolean; faults?: Record<string, Fault> },
) {
  const server = await startFaultServer(bucket.root, options);
  servers.push(server);
  return server;
}

async function everyFile(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/** One x64 artifact of `size` random bytes, served with the given faults on it. */
async function faulty(
  fault: Fault | undefined,
  {
    size = 300_000,
    ranges = true,
    manifestFault,
  }: { size?: number; ranges?: boolean; manifestFault?: Fault } = {},
) {
  const bucket = await makeBucket({ solo: size });
  const key = keysOf(bucket, 'x64')[0] as string;
  const faults: Record<string, Fault> = {};
  if (fault) faults[`/${key}`] = fault;
  if (manifestFault) faults['/vm/manifest.json'] = manifestFault;
  const server = await serve(bucket, { ranges, faults });
  const cacheDir = await tmp('cache');
  const run = (extra: Partial<SyncOptions> = {}) =>
    syncCache({
      manifestUrl: `${server.url}vm/manifest.json`,
      cacheDir,
      hostArch: 'x64',
      ...fast,
      ...extra,
    });
  return { bucket, key, server, cacheDir, run, url: `${server.url}${key}` };
}

describe('transfer faults (real HTTP server on 127.0.0.1)', () => {
  it('a body cut mid-transfer resumes with Range and ends with the right bytes', async () => {
    const f = await faulty({ kind: 'cut', afterBytes: 100_000 });
    const result = await f.run();
    expect(result.downloaded).toEqual([f.key]);
    const gets = f.server.gets(`/${f.key}`);
    expect(gets).toHaveLength(2);
    expect(gets[0]?.range).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(gets[1]?.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(100_000);
    expect(
      (await readFile(join(f.cacheDir, f.key))).equals(f.bucket.files.get(f.key) as Buffer),
    ).toBe(true);
    expect((await everyFile(f.cacheDir)).filter((p) => p.endsWith('.partial'))).toEqual([]);
  });

  it('a server without Range support answers 200 to the resume: the download restarts', async () => {
    const f = await faulty({ kind: 'cut', afterBytes: 100_000 }, { ranges: false });
    const result = await f.run();
    expect(result.downloaded).toEqual([f.key]);
    const gets = f.server.gets(`/${f.key}`);
    expect(gets).toHaveLength(2);
    expect(gets[1]?.range).toMatch(/^bytes=\d+-$/);
    expect(
      (await readFile(join(f.cacheDir, f.key))).equals(f.bucket.files.get(f.key) as Buffer),
    ).toBe(true);
  });

  it('503 then 200 (manifest and artifact) is retried and succeeds', async () => {
    const f = await faulty(
      { kind: 'status', statuses: [503] },
      { manifestFault: { kind: 'status', statuses: [503, 429] } },
    );
    const retries: string[] = [];
    const result = await f.run({ onRetry: (m) => retries.push(m) });
    expect(result.downloaded).toEqual([f.key]);
    expect(f.server.gets('/vm/manifest.json')).toHaveLength(3);
    expect(f.server.gets(`/${f.key}`)).toHaveLength(2);
    expect(retries[0]).toContain(
      `GET ${f.server.url}vm/manifest.json failed: HTTP 503 Service Unavailable`,
    );
  });

  it('a 503 that never ends fails with the URL and status after the allowed attempts', async () => {
    const f = await faulty({ kind: 'status', statuses: [503, 503, 503, 503] });
    await expect(f.run()).rejects.toThrow(`GET ${f.url} failed: HTTP 503 Service Unavailable`);
    expect(f.server.gets(`/${f.key}`)).toHaveLength(3);
    expect(await everyFile(f.cacheDir)).toEqual([]);
  });

  it('wrong bytes fail the sha256 check: not retried, no file, no partial, no manifest', async () => {
    const f = await faulty({ kind: 'wrong-bytes' }, { size: 4096 });
    const good = f.bucket.files.get(f.key) as Buffer;
    const flipped = Buffer.from(good.map((b) => b ^ 0xff));
    await expect(f.run()).rejects.toThrow(
      `sha256 mismatch for ${f.key}: expected ${sha256Hex(good)}, got ${sha256Hex(flipped)}`,
    );
    expect(f.server.gets(`/${f.key}`)).toHaveLength(1);
    expect(await everyFile(f.cacheDir)).toEqual([]);
  });

  it('a body that stalls (slowloris) times out naming the URL; nothing is left', async () => {
    const f = await faulty({ kind: 'stall', afterBytes: 1000 });
    const started = Date.now();
    await expect(f.run({ idleTimeoutMs: 300, retry: { attempts: 2, baseMs: 1 } })).rejects.toThrow(
      `timed out after 300 ms waiting for data from ${f.url}`,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(f.server.gets(`/${f.key}`)).toHaveLength(2);
    expect(await everyFile(f.cacheDir)).toEqual([]);
  });

  it('a server that never answers the manifest request times out naming the manifest URL', async () => {
    const f = await faulty(undefined, { manifestFault: { kind: 'silent' } });
    await expect(f.run({ idleTimeoutMs: 200, retry: { attempts: 2, baseMs: 1 } })).rejects.toThrow(
      `timed out after 200 ms waiting for data from ${f.server.url}vm/manifest.json`,
    );
    expect(f.server.gets('/vm/manifest.json')).toHaveLength(2);
  });

  it('a connection cut on every attempt fails naming the URL, and no .partial survives', async () => {
    const f = await faulty({ kind: 'cut', afterBytes: 50_000, times: 99 });
    await expect(f.run()).rejects.toThrow(f.url);
    expect(f.server.gets(`/${f.key}`)).toHaveLength(3);
    expect(await everyFile(f.cacheDir)).toEqual([]);
  });

  it('a server sending more than sizeBytes is refused before anything is written', async () => {
    const bucket = await makeBucket({ liar: 5000 });
    const key = keysOf(bucket, 'x64')[0] as string;
    const entry = bucket.manifest.agents.liar?.tarballs.x64;
    if (!entry) throw new Error('fixture');
    entry.sizeBytes = 100;
    await writeFile(join(bucket.root, 'vm', 'manifest.json'), JSON.stringify(bucket.manifest));
    const server = await serve(bucket, {});
    for (const manifestUrl of [`${server.url}vm/manifest.json`, bucket.fileUrl]) {
      const cacheDir = await tmp('cache');
      await expect(syncCache({ manifestUrl, cacheDir, hostArch: 'x64', ...fast })).rejects.toThrow(
        `size mismatch for ${key}: expected 100 bytes, `,
      );
      expect(await everyFile(cacheDir)).toEqual([]);
    }
    expect(server.gets(`/${key}`)).toHaveLength(1);
  });
});

describe('hostile manifests are refused before any download (10)', () => {
  const sha = 'a'.repeat(64);
  const tarball = (key: string, sizeBytes: unknown = 10) => ({ key, sha256: sha, sizeBytes });
  const manifestWith = (agents: Record<string, Record<string, unknown>>) => ({
    schemaVersion: 2,
    updatedAt: '2026-04-22T00:00:00.000Z',
    agents: Object.fromEntries(
      Object.entries(agents).map(([name, tarballs]) => [
        name,
        { image: `ghcr.io/example/${name}`, version: '1.0.0', tarballs },
      ]),
    ),
  });

  async function refuse(
    manifest: unknown,
    message: string,
    prepare?: (cacheDir: string, parent: string) => Promise<void>,
  ) {
    const root = await tmp('hostile-bucket');
    await mkdir(join(root, 'vm'), { recursive: true });
    await writeFile(join(root, 'vm', 'manifest.json'), JSON.stringify(manifest));
    const server = await serve({ root } as Bucket, {});
    for (const manifestUrl of [
      `${server.url}vm/manifest.json`,
      pathToFileURL(join(root, 'vm', 'manifest.json')).href,
    ]) {
      const parent = await tmp('hostile');
      const cacheDir = join(parent, 'cache');
      await mkdir(cacheDir);
      await prepare?.(cacheDir, parent);
      const before = await everyFile(parent);
      await expect(
        syncCache({ manifestUrl, cacheDir, hostArch: 'x64', arch: 'all', ...fast }),
      ).rejects.toThrow(message);
      expect(await everyFile(parent)).toEqual(before);
    }
    expect(server.requests.filter((r) => r.path !== '/vm/manifest.json')).toEqual([]);
  }

  it('a ../ key', () =>
    refuse(
      manifestWith({ evil: { x64: tarball('vm/../../escape.tar.gz') } }),
      '$.agents.evil.tarballs.x64.key: invalid key "vm/../../escape.tar.gz": has a ".." segment',
    ));

  it('an absolute key', () =>
    refuse(
      manifestWith({ evil: { x64: tarball('/var/escape.tar.gz') } }),
      'invalid key "/var/escape.tar.gz": is absolute',
    ));

  it('a key with backslashes', () =>
    refuse(
      manifestWith({ evil: { x64: tarball('vm\\..\\..\\escape.tar.gz') } }),
      'contains a backslash',
    ));

  it('a key that is a directory in the cache', () =>
    refuse(
      manifestWith({ evil: { x64: tarball('vm/images/dir.tar.gz') } }),
      'refusing manifest key "vm/images/dir.tar.gz": ',
      async (cacheDir) => {
        await mkdir(join(cacheDir, 'vm', 'images', 'dir.tar.gz', 'inner'), { recursive: true });
        await writeFile(join(cacheDir, 'vm', 'images', 'dir.tar.gz', 'inner', 'x'), 'x');
      },
    ));

  it('a key that is a directory of another key', () =>
    refuse(
      manifestWith({
        a: { x64: tarball('vm/images/a') },
        b: { x64: tarball('vm/images/a/b.tar.gz') },
      }),
      'refusing manifest key "vm/images/a/b.tar.gz": "vm/images/a" is both a file and a directory in the cache',
    ));

  it('a key on the local manifest or on the cache’s own files', async () => {
    await refuse(
      manifestWith({ evil: { x64: tarball('vm/manifest.json') } }),
      `refusing manifest key "vm/manifest.json": is the local manifest's own path`,
    );
    await refuse(
      manifestWith({ evil: { x64: tarball('.vm-tools-index.json') } }),
      'refusing manifest key ".vm-tools-index.json": uses a name reserved for the cache',
    );
    await refuse(
      manifestWith({ evil: { x64: tarball('vm/images/x.partial') } }),
      'refusing manifest key "vm/images/x.partial": ends in .partial',
    );
  });

  it('a parent directory that is a symlink out of the cache', async () => {
    const outside = await tmp('outside');
    await refuse(
      manifestWith({ evil: { x64: tarball('vm/images/x.tar.gz') } }),
      'leads outside the cache directory',
      async (cacheDir) => {
        await mkdir(join(cacheDir, 'vm'));
        await symlink(outside, join(cacheDir, 'vm', 'images'));
      },
    );
    expect(await readdir(outside)).toEqual([]);
  });

  it('sizeBytes that cannot be a size', async () => {
    await refuse(
      manifestWith({ evil: { x64: tarball('vm/images/x.tar.gz', -1) } }),
      '$.agents.evil.tarballs.x64.sizeBytes',
    );
    await refuse(
      manifestWith({ evil: { x64: tarball('vm/images/x.tar.gz', 1.5) } }),
      '$.agents.evil.tarballs.x64.sizeBytes',
    );
  });

  it('duplicate keys', () =>
    refuse(
      manifestWith({
        a: { x64: tarball('vm/images/same.tar.gz') },
        b: { arm64: tarball('vm/images/same.tar.gz') },
      }),
      'duplicate key "vm/images/same.tar.gz" (also used by a/x64)',
    ));

  it('a manifest that is not v2 or not JSON', async () => {
    await refuse({ schemaVersion: 1, agents: {} }, 'is not a valid manifest: $.schemaVersion');
    const root = await tmp('hostile-bucket');
    await mkdir(join(root, 'vm'));
    await writeFile(join(root, 'vm', 'manifest.json'), randomBytes(20));
    const url = pathToFileURL(join(root, 'vm', 'manifest.json')).href;
    await expect(
      syncCache({ manifestUrl: url, cacheDir: await tmp('c'), hostArch: 'x64' }),
    ).rejects.toThrow(`${url} is not JSON`);
  });
});
