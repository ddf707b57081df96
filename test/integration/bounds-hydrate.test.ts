import { execFile } from 'node:child_process';
import { mkdir, readdir, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { syncCache } from '../../src/lib/cache/index.js';
import { listen, staticHandler } from '../../src/lib/http/static-server.js';
import { keysOf, makeBucket, tmp } from '../support/bucket.js';
import { type FaultServer, startFaultServer } from '../support/fault-server.js';

const run = promisify(execFile);

async function everyFile(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .filter((p) => !p.startsWith('.vm-tools'))
    .sort();
}

describe('a download whose bytes trickle (real HTTP server on 127.0.0.1)', () => {
  it('fails at its overall deadline although the server is never idle long enough to time out', async () => {
    const bucket = await makeBucket({ solo: 300_000 });
    const key = keysOf(bucket, 'x64')[0] as string;
    const trickle = { gets: 0, sent: 0, closed: false };
    const serve = staticHandler(bucket.root);
    const server = await listen((req: IncomingMessage, res: ServerResponse) => {
      if (req.url !== `/${key}`) return serve(req, res);
      trickle.gets++;
      // The right length, then one byte every 50 ms: 300 kB would take over 4 hours.
      res.writeHead(200, { 'content-length': '300000' });
      const body = bucket.files.get(key) as Buffer;
      const timer = setInterval(() => {
        if (res.destroyed) return;
        res.write(body.subarray(trickle.sent, trickle.sent + 1));
        trickle.sent++;
      }, 50);
      res.on('close', () => {
        clearInterval(timer);
        trickle.closed = true;
      });
    });
    try {
      const cacheDir = await tmp('bounds-trickle');
      const started = Date.now();
      const error = await syncCache({
        manifestUrl: `${server.url}vm/manifest.json`,
        cacheDir,
        hostArch: 'x64',
        downloadDeadlineMs: () => 1500,
        retry: { attempts: 3, baseMs: 1, maxMs: 5 },
      }).catch((e: unknown) => e as Error);
      if (!(error instanceof Error)) throw new Error('expected the sync to fail');
      const took = Date.now() - started;
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toMatch(
        new RegExp(
          `^download of ${key} from ${server.url}${key} exceeded its deadline of 1\\.5 s \\(\\d+ of 300000 bytes received\\)$`,
        ),
      );
      expect(took).toBeGreaterThanOrEqual(1400);
      expect(took).toBeLessThan(5000);
      // Not retried (a deadline is final), the connection closed, and nothing left:
      // no artifact, no .partial, no local manifest.
      expect(trickle.gets).toBe(1);
      await expect.poll(() => trickle.closed).toBe(true);
      expect(await everyFile(cacheDir)).toEqual([]);
    } finally {
      await server.close();
    }
  }, 20_000);
});

describe('free disk space is checked before hydrating', () => {
  const servers: FaultServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function bucketOf(size: number) {
    const bucket = await makeBucket({ solo: size });
    const server = await startFaultServer(bucket.root);
    servers.push(server);
    return { bucket, server, key: keysOf(bucket, 'x64')[0] as string };
  }

  describe('on a real 1 MiB tmpfs', () => {
    let mountPoint: string;
    let mounted = false;
    beforeAll(async () => {
      mountPoint = await tmp('bounds-tmpfs');
      await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint]);
      mounted = true;
    });
    afterAll(async () => {
      if (mounted) await run('umount', [mountPoint]);
      await rm(mountPoint, { recursive: true, force: true });
    });

    it('a 2 MB artifact fails before any artifact request, naming both numbers', async () => {
      const { server, key } = await bucketOf(2_000_000);
      const cacheDir = join(mountPoint, 'too-small');
      await mkdir(cacheDir);
      const error = await syncCache({
        manifestUrl: `${server.url}vm/manifest.json`,
        cacheDir,
        hostArch: 'x64',
      }).catch((e: unknown) => e as Error);
      const match = new RegExp(
        `^not enough free space in ${cacheDir}: the download needs 2000000 bytes \\(1\\.9 MiB\\), the filesystem has (\\d+) bytes \\(.+\\) free$`,
      ).exec((error as Error).message);
      expect(match, (error as Error).message).not.toBeNull();
      expect(Number(match?.[1])).toBeLessThanOrEqual(1024 * 1024);
      expect(server.gets(`/${key}`)).toEqual([]);
      expect(await everyFile(cacheDir)).toEqual([]);
    });

    it('a 300 kB artifact fits and is hydrated', async () => {
      const { server, key } = await bucketOf(300_000);
      const cacheDir = join(mountPoint, 'fits');
      await mkdir(cacheDir);
      const result = await syncCache({
        manifestUrl: `${server.url}vm/manifest.json`,
        cacheDir,
        hostArch: 'x64',
      });
      expect(result.downloaded).toEqual([key]);
    });
  });

  it('the free-space reader is asked about the cache dir, and only bytes still to fetch count', async () => {
    const { server, key } = await bucketOf(300_000);
    const cacheDir = await tmp('bounds-free');
    const asked: string[] = [];
    const freeBytes = async (dir: string) => {
      asked.push(dir);
      return 299_999;
    };
    const options = { manifestUrl: `${server.url}vm/manifest.json`, cacheDir, hostArch: 'x64' };
    await expect(syncCache({ ...options, freeBytes })).rejects.toThrow(
      `not enough free space in ${cacheDir}: the download needs 300000 bytes (293.0 KiB), the filesystem has 299999 bytes (293.0 KiB) free`,
    );
    expect(asked).toEqual([cacheDir]);
    expect(server.gets(`/${key}`)).toEqual([]);
    // Once the file is there, nothing is left to fetch: no space is needed.
    await syncCache(options);
    const again = await syncCache({ ...options, freeBytes: async () => 0 });
    expect(again.skipped).toBe(true);
  });
});
