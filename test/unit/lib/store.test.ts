import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseStoreConfig } from '../../../src/commands/shared/store-inputs.js';
import type { InputReader } from '../../../src/lib/command/types.js';
import { contentTypeFor } from '../../../src/lib/store/content-type.js';
import { FileStore } from '../../../src/lib/store/file.js';
import { classifyS3Error, partSizeFor } from '../../../src/lib/store/s3.js';
import { quoteEtag, StoreError, unquoteEtag } from '../../../src/lib/store/types.js';
import { parseObjectUrl, parseStoreUrl } from '../../../src/lib/store/url.js';

const MiB = 1024 * 1024;
const reader =
  (values: Record<string, string>): InputReader =>
  (name) =>
    values[name];

describe('store URLs', () => {
  it('parses s3:// with and without a prefix, and file://', () => {
    expect(parseStoreUrl('s3://releases')).toEqual({ kind: 's3', bucket: 'releases', prefix: '' });
    expect(parseStoreUrl('s3://releases/a/b/')).toEqual({
      kind: 's3',
      bucket: 'releases',
      prefix: 'a/b/',
    });
    expect(parseStoreUrl('file:///srv/bucket')).toEqual({ kind: 'file', dir: '/srv/bucket' });
  });

  it('rejects malformed URLs with the reason', () => {
    expect(() => parseStoreUrl('s3://')).toThrow('names no bucket (expected s3://BUCKET[/PREFIX])');
    expect(() => parseStoreUrl('s3://ab')).toThrow('has a bad bucket: "ab" is not a bucket name');
    expect(() => parseStoreUrl('s3://a..b')).toThrow('has a bad bucket');
    expect(() => parseStoreUrl('s3://bucket/x//y')).toThrow(
      'has a bad prefix "x//y": it has an empty segment',
    );
    expect(() => parseStoreUrl('http://bucket')).toThrow('is not a store URL');
    expect(() => parseStoreUrl('file://relative/dir')).toThrow('is not a file:///ABSOLUTE/DIR URL');
  });

  it('splits s3://bucket/key object URLs and checks the key', () => {
    expect(parseObjectUrl('s3://rel/vm/manifest.json')).toEqual({
      bucket: 'rel',
      key: 'vm/manifest.json',
    });
    expect(() => parseObjectUrl('s3://rel')).toThrow(
      '"s3://rel" is not an s3://BUCKET/KEY object URL',
    );
    expect(() => parseObjectUrl('s3://rel/../x')).toThrow('invalid key "../x": has a ".." segment');
  });
});

describe('store config', () => {
  const creds = { 'access-key-id': 'AK', 'secret-access-key': 'SK' };
  it('needs an endpoint only for region auto', () => {
    expect(parseStoreConfig(reader({ store: 's3://rel', region: 'eu-west-1', ...creds }))).toEqual({
      kind: 's3',
      bucket: 'rel',
      prefix: '',
      region: 'eu-west-1',
      accessKeyId: 'AK',
      secretAccessKey: 'SK',
    });
    expect(() => parseStoreConfig(reader({ store: 's3://rel', ...creds }))).toThrow(
      'Input "endpoint" is required for an s3:// store with region auto (R2)',
    );
  });
  it('does not ask for credentials for a file:// store', () => {
    expect(parseStoreConfig(reader({ store: 'file:///x' }))).toEqual({ kind: 'file', dir: '/x' });
  });
  it('refuses an endpoint carrying credentials', () => {
    expect(() =>
      parseStoreConfig(
        reader({ store: 's3://rel', endpoint: 'https://u:p@example.com', ...creds }),
      ),
    ).toThrow(
      'Input "endpoint" must be an http(s):// URL without credentials; got "https://u:p@example.com".',
    );
  });
});

describe('content types and part sizes', () => {
  it('follows the spec', () => {
    expect(contentTypeFor('vm/images/a-1-x64.tar.gz')).toBe('application/gzip');
    expect(contentTypeFor('vm/images/a-1-x64.tar.zst')).toBe('application/zstd');
    expect(contentTypeFor('x.zst')).toBe('application/zstd');
    expect(contentTypeFor('vm/manifest.json')).toBe('application/json');
    expect(contentTypeFor('vm/images/a-1-x64.tar.gz.sha256')).toBe('application/octet-stream');
  });
  it('keeps parts >= 8 MiB and an object under ~1000 parts', () => {
    expect(partSizeFor(1)).toBe(8 * MiB);
    expect(partSizeFor(1024 * MiB)).toBe(8 * MiB);
    const big = 200 * 1024 * MiB;
    expect(Math.ceil(big / partSizeFor(big))).toBeLessThanOrEqual(1000);
    expect(partSizeFor(big) % MiB).toBe(0);
  });
});

describe('S3 error classification', () => {
  const err = (name: string, status?: number, extra: object = {}) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } }, extra);
  it('maps statuses and names to kinds with a retryable flag', () => {
    const cases: [unknown, string, boolean][] = [
      [err('PreconditionFailed', 412), 'precondition_failed', false],
      [err('ConditionalRequestConflict', 409), 'conflict', true],
      [err('NotFound', 404), 'not_found', false],
      [err('NoSuchBucket', 404), 'invalid', false],
      [err('SignatureDoesNotMatch', 403), 'auth', false],
      [err('SlowDown', 503), 'transient', true],
      [err('TooManyRequests', 429), 'transient', true],
      [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'transient', true],
      [err('InvalidArgument', 400), 'invalid', false],
    ];
    for (const [error, kind, retryable] of cases) {
      const e = classifyS3Error(error, 'PUT k');
      expect([e.kind, e.retryable]).toEqual([kind, retryable]);
      expect(e.message.startsWith('PUT k: ')).toBe(true);
    }
  });
  it('normalises ETag quoting', () => {
    expect(unquoteEtag('"abc"')).toBe('abc');
    expect(unquoteEtag('W/"abc"')).toBe('abc');
    expect(quoteEtag('abc')).toBe('"abc"');
    expect(quoteEtag('"abc"')).toBe('"abc"');
  });
});

describe('file:// store compare-and-swap', () => {
  it('lets exactly one of many concurrent If-Match writers win', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vm-tools-cas-'));
    const store = new FileStore(dir);
    const { etag } = await store.put('vm/manifest.json', 'v0');
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        store.put('vm/manifest.json', `v${i + 1}`, { ifMatch: etag }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((r) => r.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StoreError);
      expect((r as PromiseRejectedResult).reason.kind).toBe('precondition_failed');
    }
    expect(await readdir(join(dir, 'vm'))).toEqual(['manifest.json']);
  });

  it('ETag is the quoted sha256, also for a file put there by hand', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vm-tools-cas-'));
    const { writeFile, mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'vm'));
    await writeFile(join(dir, 'vm', 'x.json'), 'hello');
    const head = await new FileStore(dir).head('vm/x.json');
    expect(head?.etag).toBe('"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"');
    expect(head?.metadata).toEqual({});
  });

  it('refuses keys that break the key rules', async () => {
    const store = new FileStore(await mkdtemp(join(tmpdir(), 'vm-tools-cas-')));
    await expect(store.put('../escape', 'x')).rejects.toThrow(
      'invalid key "../escape": has a ".." segment',
    );
  });
});
