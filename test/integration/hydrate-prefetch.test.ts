import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureAvailable, isSyncing, prefetch } from '../../src/lib/cache/index.js';
import { keysOf, makeBucket, tmp } from '../support/bucket.js';
import { type Fault, type FaultServer, startFaultServer } from '../support/fault-server.js';

const fast = { retry: { attempts: 3, baseMs: 1, maxMs: 5 } };
const servers: FaultServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function setup(manifestFault?: Fault) {
  const bucket = await makeBucket();
  const server = await startFaultServer(bucket.root, {
    faults: manifestFault ? { '/vm/manifest.json': manifestFault } : {},
  });
  servers.push(server);
  const calls: string[] = [];
  const options = async () => ({
    manifestUrl: `${server.url}vm/manifest.json`,
    cacheDir: await tmp('cache'),
    hostArch: 'x64',
    ...fast,
    fetch: (url: string, init?: RequestInit) => {
      calls.push(url);
      return fetch(url, init);
    },
  });
  return { bucket, server, options, calls };
}

describe('prefetch / ensureAvailable (7)', () => {
  it('concurrent calls for one cache dir share one in-flight sync and one set of requests', async () => {
    const { bucket, server, options, calls } = await setup();
    const opts = await options();
    const first = prefetch(opts);
    const second = prefetch({ ...opts });
    const third = ensureAvailable(opts);
    expect(second).toBe(first);
    expect(isSyncing(opts.cacheDir)).toBe(true);
    const [a, b, c] = await Promise.all([first, second, third]);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(a.downloaded).toEqual(keysOf(bucket, 'x64'));
    expect(server.gets('/vm/manifest.json')).toHaveLength(1);
    expect(server.requests).toHaveLength(1 + keysOf(bucket, 'x64').length);
    // The injected fetch carried every request.
    expect(calls).toHaveLength(server.requests.length);
    expect(isSyncing(opts.cacheDir)).toBe(false);
  });

  it('calls for different cache dirs are independent', async () => {
    const { bucket, server, options } = await setup();
    const [o1, o2] = [await options(), await options()];
    const p1 = prefetch(o1);
    const p2 = prefetch(o2);
    expect(p2).not.toBe(p1);
    const [r1, r2] = await Promise.all([p1, p2]);
    expect(r1.downloaded).toEqual(keysOf(bucket, 'x64'));
    expect(r2.downloaded).toEqual(keysOf(bucket, 'x64'));
    expect(server.gets('/vm/manifest.json')).toHaveLength(2);
    for (const key of keysOf(bucket, 'x64')) {
      expect(await readFile(join(o2.cacheDir, key))).toEqual(bucket.files.get(key));
    }
  });

  it('a failed in-flight sync is cleared: the next call retries from scratch', async () => {
    const { bucket, server, options } = await setup({ kind: 'status', statuses: [500, 500, 500] });
    const opts = await options();
    const failing = prefetch(opts);
    await expect(failing).rejects.toThrow(
      `GET ${server.url}vm/manifest.json failed: HTTP 500 Internal Server Error`,
    );
    expect(isSyncing(opts.cacheDir)).toBe(false);
    const next = prefetch(opts);
    expect(next).not.toBe(failing);
    expect((await next).downloaded).toEqual(keysOf(bucket, 'x64'));
    expect(server.gets('/vm/manifest.json')).toHaveLength(4);
  });

  it('ensureAvailable made while a prefetch is failing retries after it fails', async () => {
    const { bucket, server, options } = await setup({ kind: 'status', statuses: [503, 503, 503] });
    const opts = await options();
    const failing = prefetch(opts);
    const ensured = ensureAvailable(opts);
    await expect(failing).rejects.toThrow('HTTP 503 Service Unavailable');
    const result = await ensured;
    expect(result.downloaded).toEqual(keysOf(bucket, 'x64'));
    expect(server.gets('/vm/manifest.json')).toHaveLength(4);
  });

  it('a fire-and-forget prefetch that fails is not an unhandled rejection', async () => {
    const { options } = await setup({ kind: 'status', statuses: [404] });
    const opts = await options();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      void prefetch(opts);
      for (let i = 0; i < 200 && isSyncing(opts.cacheDir); i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(isSyncing(opts.cacheDir)).toBe(false);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
