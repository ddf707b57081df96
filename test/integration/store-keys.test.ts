import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FileStore } from '../../src/lib/store/file.js';
import type { Store } from '../../src/lib/store/types.js';
import { startProxy, type TestProxy } from '../support/proxy.js';
import { rgwStore, uniquePrefix } from '../support/publish-fixtures.js';

const BAD_KEYS: [string, RegExp][] = [
  ['../escape.json', /has a "\.\." segment/],
  ['vm/../../etc/passwd', /has a "\.\." segment/],
  ['/vm/manifest.json', /is absolute/],
  ['vm//manifest.json', /empty segment/],
  ['', /is empty/],
  ['vm/a\nb.json', /characters outside/],
  ['vm/a\u0000b', /characters outside/],
  ['vm\\images\\a.tar.gz', /backslash/],
];

/** Every store operation, each given a key it must refuse before doing anything. */
function operations(store: Store, dir: string): [string, (key: string) => Promise<unknown>][] {
  const file = join(dir, 'body.bin');
  return [
    ['head', (k) => store.head(k)],
    ['get', (k) => store.get(k)],
    ['getText', (k) => store.getText(k)],
    ['put', (k) => store.put(k, 'x')],
    ['putFile', (k) => store.putFile(k, file, { sizeBytes: 1 })],
    ['delete', (k) => store.delete(k)],
  ];
}

describe('the S3 store checks keys itself (Ceph RGW behind a counting proxy)', () => {
  let proxy: TestProxy;
  let store: Store;
  let dir: string;
  beforeAll(async () => {
    const rgw = inject('rgw');
    proxy = await startProxy({ target: rgw.AWS_ENDPOINT_URL_S3 });
    store = rgwStore(rgw, uniquePrefix(), proxy.url, 1);
    dir = await mkdtemp(join(tmpdir(), 'vm-tools-keys-'));
    await writeFile(join(dir, 'body.bin'), 'x');
  });
  afterAll(() => proxy.close());

  it('refuses every bad key in every operation before any request, without retry', async () => {
    for (const [key, why] of BAD_KEYS) {
      for (const [name, op] of operations(store, dir)) {
        const error = await op(key).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, `${name} ${JSON.stringify(key)}`).toMatchObject({
          name: 'StoreError',
          kind: 'invalid',
          retryable: false,
        });
        expect((error as Error).message).toMatch(why);
        // Escaped, so a control character in a key cannot start a new log line.
        expect((error as Error).message).not.toContain('\n');
      }
    }
    expect(proxy.requests).toBe(0);
    // The proxy is on the path: a good key does reach RGW.
    await store.put('vm/ok.json', '{}');
    expect(await store.getText('vm/ok.json')).toMatchObject({ text: '{}' });
    expect(proxy.requests).toBeGreaterThan(0);
  });
});

describe('the file:// store keeps its own files to itself', () => {
  it('refuses keys inside its metadata directory', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vm-tools-filestore-'));
    const store = new FileStore(root);
    await store.put('vm/a.json', '{"a":1}');
    const before = await readdir(join(root, '.vm-tools'), { recursive: true });
    for (const key of ['.vm-tools', '.vm-tools/meta/vm/a.json.json', '.vm-tools/locks/x']) {
      for (const [name, op] of operations(store, root)) {
        await expect(op(key), `${name} ${key}`).rejects.toMatchObject({
          kind: 'invalid',
          message: expect.stringMatching(/inside the store's own \.vm-tools\/ directory/),
        });
      }
    }
    expect(await readdir(join(root, '.vm-tools'), { recursive: true })).toEqual(before);
    // The sha256 metadata a forged write would have replaced is intact.
    expect((await store.head('vm/a.json'))?.metadata).toEqual({});
  });

  it('takes its locks outside the bucket tree, so an object named <key>.lock does not block <key>', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vm-tools-filestore-'));
    const store = new FileStore(root, 2_000);
    await store.put('vm/images/a.tar.gz.lock', 'an object, not a lock');
    await store.put('vm/images/a.tar.gz', 'tarball');
    await store.put('vm/images/a.tar.gz', 'tarball', {
      ifMatch: (await store.head('vm/images/a.tar.gz'))?.etag ?? '',
    });
    await store.delete('vm/images/a.tar.gz');
    expect((await store.getText('vm/images/a.tar.gz.lock'))?.text).toBe('an object, not a lock');
    const tree = (await readdir(root, { recursive: true })).filter(
      (p) => !p.startsWith('.vm-tools'),
    );
    expect(tree.sort()).toEqual(['vm', 'vm/images', 'vm/images/a.tar.gz.lock']);
  });
});
