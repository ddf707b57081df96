import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { FileStore } from '../../src/lib/store/file.js';
import { downloadObject, uploadArtifact, verifyUploaded } from '../../src/lib/store/transfer.js';
import type { Store } from '../../src/lib/store/types.js';
import { rgwStore, uniquePrefix } from '../support/publish-fixtures.js';

const MiB = 1024 * 1024;
const policy = { deadlineMs: 60_000 };

/** A file of random bytes written in 1 MiB chunks, with its sha256. */
async function randomFile(dir: string, sizeBytes: number) {
  const path = join(dir, 'big.bin');
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let written = 0; written < sizeBytes; written += MiB) {
    const chunk = randomBytes(Math.min(MiB, sizeBytes - written));
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
  return { path, sha256: hash.digest('hex'), sizeBytes };
}

/** Two files of different bytes (same size), with their digests. */
async function twoFiles(dir: string, name: string, sizeBytes: number) {
  return Promise.all(
    ['a', 'b'].map(async (tag) => {
      const bytes = Buffer.alloc(sizeBytes, tag);
      const path = join(dir, `${name}-${tag}.bin`);
      await writeFile(path, bytes);
      return { path, sha256: createHash('sha256').update(bytes).digest('hex'), sizeBytes };
    }),
  );
}

/** The store, with every putFile held until `count` of them have arrived. */
function behindBarrier(store: Store, count: number) {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const raced: Store & { arrived(): number } = {
    description: store.description,
    head: (k) => store.head(k),
    get: (k) => store.get(k),
    getText: (k) => store.getText(k),
    put: (k, b, o) => store.put(k, b, o),
    putFile: async (k, p, o) => {
      if (++arrived === count) open();
      await opened;
      return store.putFile(k, p, o);
    },
    delete: (k) => store.delete(k),
    arrived: () => arrived,
  };
  return raced;
}

const stores: [string, () => Promise<Store>][] = [
  ['s3 (Ceph RGW)', async () => rgwStore(inject('rgw'), uniquePrefix())],
  ['file://', async () => new FileStore(await mkdtemp(join(tmpdir(), 'vm-tools-filestore-')))],
];

describe.each(stores)('%s store', (_name, open) => {
  let dir: string;
  let big: Awaited<ReturnType<typeof randomFile>>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vm-tools-store-'));
    big = await randomFile(dir, 64 * MiB);
  });

  it('round-trips a 64 MiB multipart upload with sha256 metadata and sidecar; download verifies', async () => {
    const store = await open();
    const key = 'vm/images/big-1.0.0-x64.tar.gz';
    const up = await uploadArtifact(store, {
      file: big.path,
      key,
      digest: big,
      sidecar: true,
      retry: policy,
    });
    expect(up).toEqual({ key, sha256: big.sha256, sizeBytes: big.sizeBytes, skipped: false });
    const head = await store.head(key);
    expect(head?.sizeBytes).toBe(64 * MiB);
    expect(head?.metadata.sha256).toBe(big.sha256);
    expect(head?.contentType).toBe('application/gzip');
    // An S3 multipart ETag ends in -<parts>: 64 MiB went up as 8 parts of 8 MiB.
    if (store.description.startsWith('s3://')) expect(head?.etag).toMatch(/-8"$/);
    expect((await store.getText(`${key}.sha256`))?.text).toBe(
      `${big.sha256}  big-1.0.0-x64.tar.gz\n`,
    );

    const outDir = await mkdtemp(join(tmpdir(), 'vm-tools-dl-'));
    const out = join(outDir, 'big.tar.gz');
    const digest = await downloadObject(store, { key, out, retry: policy });
    expect(digest).toEqual({ sha256: big.sha256, sizeBytes: big.sizeBytes });
    expect((await stat(out)).size).toBe(64 * MiB);
    expect(await readdir(outDir)).toEqual(['big.tar.gz']);

    const wrong = join(outDir, 'wrong.tar.gz');
    await expect(
      downloadObject(store, { key, out: wrong, sha256: '0'.repeat(64), retry: policy }),
    ).rejects.toThrow(`sha256 mismatch for ${key}: expected ${'0'.repeat(64)}, got ${big.sha256}`);
    expect(await readdir(outDir)).toEqual(['big.tar.gz']);
  });

  it('skips the same content and refuses different content unless overwrite', async () => {
    const store = await open();
    const key = 'vm/images/small-1.0.0-arm64.tar.gz';
    const a = join(dir, 'a.tar.gz');
    const b = join(dir, 'b.tar.gz');
    await writeFile(a, 'first content');
    await writeFile(b, 'other content!');
    const da = {
      sha256: createHash('sha256').update('first content').digest('hex'),
      sizeBytes: 13,
    };
    const db = {
      sha256: createHash('sha256').update('other content!').digest('hex'),
      sizeBytes: 14,
    };
    expect((await uploadArtifact(store, { file: a, key, digest: da, retry: policy })).skipped).toBe(
      false,
    );
    const etag = (await store.head(key))?.etag;
    expect((await uploadArtifact(store, { file: a, key, digest: da, retry: policy })).skipped).toBe(
      true,
    );
    expect((await store.head(key))?.etag).toBe(etag);
    await expect(
      uploadArtifact(store, { file: b, key, digest: db, retry: policy }),
    ).rejects.toThrow(
      `refusing to overwrite ${key} with different content (it holds ${da.sha256}, 13 bytes; this is ${db.sha256}, 14 bytes); pass overwrite to replace it`,
    );
    expect((await store.getText(key))?.text).toBe('first content');
    await uploadArtifact(store, { file: b, key, digest: db, overwrite: true, retry: policy });
    expect((await store.getText(key))?.text).toBe('other content!');
    expect((await store.head(key))?.metadata.sha256).toBe(db.sha256);
  });

  it('two uploads of different bytes racing onto one key: exactly one lands, the other is refused naming both sha256s', async () => {
    const store = await open();
    const key = 'vm/images/race-1.0.0-x64.tar.gz';
    const files = await twoFiles(dir, 'race', 100);
    // Both have seen the key absent (HEAD) before either writes: the race that a
    // HEAD-then-PUT check loses.
    const raced = behindBarrier(store, 2);
    const results = await Promise.allSettled(
      files.map((f) =>
        uploadArtifact(raced, { file: f.path, key, digest: f, sidecar: true, retry: policy }),
      ),
    );
    expect(raced.arrived()).toBe(2);
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [files[i]] : []));
    const lost = results.flatMap((r, i) => (r.status === 'rejected' ? [[files[i], r.reason]] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const [winner] = won;
    const [[loser, reason]] = lost as [[typeof winner, Error]];
    expect(reason.message).toBe(
      `refusing to overwrite ${key} with different content (it holds ${winner?.sha256}, ${winner?.sizeBytes} bytes; this is ${loser?.sha256}, ${loser?.sizeBytes} bytes); pass overwrite to replace it`,
    );
    const head = await store.head(key);
    expect(head?.metadata.sha256).toBe(winner?.sha256);
    expect((await store.getText(`${key}.sha256`))?.text).toBe(
      `${winner?.sha256}  race-1.0.0-x64.tar.gz\n`,
    );
  });

  it('two multipart uploads racing onto one key: the loser fails at upload or at verification', async () => {
    const store = await open();
    const key = 'vm/images/race-1.0.0-arm64.tar.gz';
    // Over one 8 MiB part: a multipart upload on S3.
    const files = await twoFiles(dir, 'mp', 12 * MiB);
    const raced = behindBarrier(store, 2);
    const uploads = await Promise.allSettled(
      files.map((f) =>
        uploadArtifact(raced, { file: f.path, key, digest: f, sidecar: false, retry: policy }),
      ),
    );
    // Verification runs after both writes, as a publish verifies before the manifest.
    const verified = await Promise.allSettled(
      files.map(async (f, i) => {
        const upload = uploads[i];
        if (upload?.status === 'rejected') throw upload.reason;
        await verifyUploaded(store, { key, ...f }, policy);
        return f;
      }),
    );
    const ok = verified.filter((r) => r.status === 'fulfilled');
    expect(ok).toHaveLength(1);
    const refusedAtUpload = uploads.filter((r) => r.status === 'rejected').length;
    // Measured: RGW 16 ignores If-None-Match on CompleteMultipartUpload, so both
    // uploads "succeed" and only the verification catches the overwritten one.
    console.log(
      `${_name}: multipart race refused at upload: ${refusedAtUpload}, caught at verification: ${1 - refusedAtUpload}`,
    );
    const failed = verified.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(String(failed.reason.message)).toMatch(
      /^(refusing to overwrite|verification failed for) vm\/images\/race-1\.0\.0-arm64\.tar\.gz/,
    );
    const winner = ok[0]?.status === 'fulfilled' ? ok[0].value : undefined;
    const loser = files.find((f) => f !== winner);
    expect(failed.reason.message).toContain(winner?.sha256);
    expect(failed.reason.message).toContain(loser?.sha256);
    expect((await store.head(key))?.metadata.sha256).toBe(winner?.sha256);
  });

  it('enforces If-None-Match: * and If-Match', async () => {
    const store = await open();
    const key = 'vm/cas.json';
    const first = await store.put(key, '{"v":1}', { ifNoneMatch: '*' });
    await expect(store.put(key, '{"v":2}', { ifNoneMatch: '*' })).rejects.toMatchObject({
      kind: 'precondition_failed',
    });
    await expect(store.put(key, '{"v":2}', { ifMatch: '"stale"' })).rejects.toMatchObject({
      kind: 'precondition_failed',
    });
    const head = await store.head(key);
    expect(head?.etag.replaceAll('"', '')).toBe(first.etag.replaceAll('"', ''));
    expect((await store.getText(key))?.text).toBe('{"v":1}');
  });
});

describe('Ceph RGW If-Match quirk', () => {
  it('refuses the quoted ETag that matches and accepts the unquoted one', async () => {
    const store = rgwStore(inject('rgw'), uniquePrefix());
    await store.put('vm/q.json', 'one');
    const { etag } = (await store.head('vm/q.json')) ?? { etag: '' };
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    // This is the quirk publish works around: if it ever stops, the workaround is dead code.
    await expect(store.put('vm/q.json', 'two', { ifMatch: etag })).rejects.toMatchObject({
      kind: 'precondition_failed',
    });
    await store.put('vm/q.json', 'two', { ifMatch: etag.replaceAll('"', '') });
    expect((await store.getText('vm/q.json'))?.text).toBe('two');
  });
});
