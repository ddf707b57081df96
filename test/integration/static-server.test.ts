import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StaticServer, startStaticServer } from '../../src/lib/http/static-server.js';
import { tmp } from '../support/bucket.js';

/** A raw request: fetch would normalise the `..` paths this suite needs to send. */
function raw(
  url: string,
  path: string,
  { method = 'GET', headers = {} }: { method?: string; headers?: Record<string, string> } = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('static file server', () => {
  let server: StaticServer;
  let outside: string;
  beforeAll(async () => {
    const parent = await tmp('static');
    const root = join(parent, 'root');
    outside = join(parent, 'secret.txt');
    await mkdir(join(root, 'vm'), { recursive: true });
    await writeFile(join(root, 'vm', 'file.bin'), '0123456789');
    await writeFile(outside, 'secret');
    await symlink(outside, join(root, 'vm', 'link'));
    server = await startStaticServer(root);
  });
  afterAll(() => server.close());

  it('serves GET and HEAD on 127.0.0.1 with validators', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const get = await raw(server.url, '/vm/file.bin');
    expect(get).toMatchObject({ status: 200, body: '0123456789' });
    expect(get.headers['content-length']).toBe('10');
    expect(get.headers['accept-ranges']).toBe('bytes');
    expect(get.headers['last-modified']).toBeTruthy();
    const etag = get.headers.etag as string;
    const head = await raw(server.url, '/vm/file.bin', { method: 'HEAD' });
    expect(head).toMatchObject({ status: 200, body: '' });
    expect(head.headers.etag).toBe(etag);
    expect(
      (await raw(server.url, '/vm/file.bin', { headers: { 'if-none-match': etag } })).status,
    ).toBe(304);
    expect((await raw(server.url, '/vm/file.bin', { method: 'PUT' })).status).toBe(405);
  });

  it('answers ranges with 206, honours If-Range, and 416 past the end', async () => {
    const part = await raw(server.url, '/vm/file.bin', { headers: { range: 'bytes=4-' } });
    expect(part).toMatchObject({ status: 206, body: '456789' });
    expect(part.headers['content-range']).toBe('bytes 4-9/10');
    const stale = await raw(server.url, '/vm/file.bin', {
      headers: { range: 'bytes=4-', 'if-range': '"other"' },
    });
    expect(stale).toMatchObject({ status: 200, body: '0123456789' });
    const past = await raw(server.url, '/vm/file.bin', { headers: { range: 'bytes=10-' } });
    expect(past.status).toBe(416);
    expect(past.headers['content-range']).toBe('bytes */10');
  });

  it('never serves anything outside its root', async () => {
    for (const path of [
      '/../secret.txt',
      '/vm/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/vm/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/vm/link',
      '/vm',
      '/missing',
    ]) {
      const res = await raw(server.url, path);
      expect(res.status, path).toBe(404);
      expect(res.body).not.toContain('secret');
    }
    expect(server.requests.at(-1)).toEqual({ method: 'GET', path: '/missing', status: 404 });
  });
});
