import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, readdir, truncate, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { syncCache } from '../../src/lib/cache/index.js';
import { listen } from '../../src/lib/http/static-server.js';
import { MAX_DOCUMENT_BYTES, MiB } from '../../src/lib/limits.js';
import { readBaseline } from '../../src/lib/manifest/baseline.js';
import { FileStore } from '../../src/lib/store/file.js';
import { StoreError } from '../../src/lib/store/types.js';
import { tmp } from '../support/bucket.js';
import { rgwStore, uniquePrefix } from '../support/publish-fixtures.js';

const run = promisify(execFile);
const OVER = MAX_DOCUMENT_BYTES + MiB;

/**
 * A server with two hostile documents: one that announces (and sends) more than
 * the cap, and one that streams chunked filler for as long as anyone reads.
 * It counts what it managed to write, which is what the client had to absorb.
 */
async function startHostileServer() {
  const sent = { oversized: 0, endless: 0 };
  const closed = { endless: false };
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const which = req.url?.startsWith('/endless/') ? 'endless' : 'oversized';
    res.on('close', () => {
      if (which === 'endless') closed.endless = true;
    });
    if (which === 'oversized') res.writeHead(200, { 'content-length': String(OVER) });
    else res.writeHead(200, { 'content-type': 'application/json' }); // chunked, no length
    const pump = () => {
      while (!res.destroyed && (which === 'endless' || sent.oversized < OVER)) {
        sent[which] += chunk.length;
        // Honour backpressure: the count is what the client's socket accepted.
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
    };
    pump();
  };
  const server = await listen(handler);
  return { ...server, sent, closed };
}

describe('manifest and baseline bodies are capped (real HTTP server on 127.0.0.1)', () => {
  let server: Awaited<ReturnType<typeof startHostileServer>>;
  beforeAll(async () => {
    server = await startHostileServer();
  });
  afterAll(() => server.close());

  it('hydrate refuses an oversized manifest from its Content-Length, before reading the body', async () => {
    const cacheDir = await tmp('bounds-cache');
    const url = `${server.url}oversized/vm/manifest.json`;
    await expect(syncCache({ manifestUrl: url, cacheDir, hostArch: 'x64' })).rejects.toThrow(
      `manifest ${url} is larger than 16 MiB (${OVER} bytes), the limit for a manifest or baseline: refusing to read it`,
    );
    // Nothing was written into the cache but its lock directory.
    expect((await readdir(cacheDir)).filter((n) => !n.startsWith('.vm-tools'))).toEqual([]);
  });

  it('hydrate stops reading an endless chunked manifest at the cap, and closes the connection', async () => {
    const cacheDir = await tmp('bounds-cache');
    const url = `${server.url}endless/vm/manifest.json`;
    const started = Date.now();
    server.sent.endless = 0;
    await expect(syncCache({ manifestUrl: url, cacheDir, hostArch: 'x64' })).rejects.toThrow(
      new RegExp(`^manifest ${url} is larger than 16 MiB, the limit`),
    );
    expect(Date.now() - started).toBeLessThan(30_000);
    await expect.poll(() => server.closed.endless).toBe(true);
    const afterClose = server.sent.endless;
    // What the server got out is the cap plus what socket buffers held: not the whole stream.
    expect(afterClose).toBeGreaterThan(MAX_DOCUMENT_BYTES);
    expect(afterClose).toBeLessThan(MAX_DOCUMENT_BYTES + 16 * MiB);
    await new Promise((r) => setTimeout(r, 300));
    expect(server.sent.endless).toBe(afterClose);
  });

  it('an HTTP baseline: oversized by Content-Length, and endless', async () => {
    const oversized = `${server.url}oversized/baseline.json`;
    await expect(readBaseline(oversized)).rejects.toThrow(
      `baseline ${oversized} is larger than 16 MiB (${OVER} bytes)`,
    );
    server.closed.endless = false;
    const endless = `${server.url}endless/baseline.json`;
    await expect(readBaseline(endless)).rejects.toThrow(
      new RegExp(`^baseline ${endless} is larger than 16 MiB, the limit`),
    );
    await expect.poll(() => server.closed.endless).toBe(true);
  });
});

describe('file:// documents are capped', () => {
  let dir: string;
  const writers: ChildProcess[] = [];
  beforeAll(async () => {
    dir = await tmp('bounds-file');
    await mkdir(join(dir, 'vm'), { recursive: true });
    // Sparse: 17 MiB on paper, nothing on disk.
    await writeFile(join(dir, 'vm', 'manifest.json'), '');
    await truncate(join(dir, 'vm', 'manifest.json'), OVER);
  });
  afterEach(() => {
    for (const w of writers.splice(0)) if (w.pid) process.kill(w.pid, 'SIGKILL');
  });

  it('hydrate from an oversized file:// manifest fails naming it and the cap', async () => {
    const url = pathToFileURL(join(dir, 'vm', 'manifest.json')).href;
    await expect(
      syncCache({ manifestUrl: url, cacheDir: await tmp('bounds-cache'), hostArch: 'x64' }),
    ).rejects.toThrow(`manifest ${url} is larger than 16 MiB (${OVER} bytes)`);
  });

  it('FileStore.getText refuses an oversized object with a non-retryable StoreError', async () => {
    const store = new FileStore(dir);
    const error = await store.getText('vm/manifest.json').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ kind: 'invalid', retryable: false });
    expect((error as Error).message).toBe(
      `file://${dir}/vm/manifest.json is larger than 16 MiB (${OVER} bytes), the limit for a manifest or baseline: refusing to read it`,
    );
  });

  it('a file baseline that never ends (a FIFO fed by a real writer) stops at the cap', async () => {
    const fifo = join(dir, 'endless.json');
    await run('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', `exec yes > '${fifo}'`], { stdio: 'ignore' });
    writers.push(writer);
    await expect(readBaseline(fifo)).rejects.toThrow(
      new RegExp(`^baseline ${fifo} is larger than 16 MiB, the limit`),
    );
  });
});

describe('an oversized object in Ceph RGW through S3Store.getText', () => {
  it('fails with the object named and the cap, without reading the body', async () => {
    const store = rgwStore(inject('rgw'), uniquePrefix());
    await store.put('vm/manifest.json', Buffer.alloc(OVER, 0x20));
    const error = await store.getText('vm/manifest.json').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ kind: 'invalid', retryable: false });
    expect((error as Error).message).toBe(
      `${store.description.split(' at ')[0]}vm/manifest.json is larger than 16 MiB (${OVER} bytes), the limit for a manifest or baseline: refusing to read it`,
    );
    // A document under the cap still reads.
    await store.put('vm/small.json', '{"ok":true}');
    expect((await store.getText('vm/small.json'))?.text).toBe('{"ok":true}');
  });
});
