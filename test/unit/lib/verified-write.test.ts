import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../src/lib/fs/hash.js';
import { partialSize, writeVerified } from '../../../src/lib/fs/verified-write.js';

const tmp = () => mkdtemp(join(tmpdir(), 'vm-tools-vw-'));

describe('writeVerified', () => {
  it('renames into place only after the digest matches', async () => {
    const dir = await tmp();
    const data = Buffer.from('hello world');
    const out = join(dir, 'a.bin');
    const digest = await writeVerified(Readable.from([data]), out, {
      expected: { sha256: sha256Hex(data), sizeBytes: data.length },
    });
    expect(digest).toEqual({ sha256: sha256Hex(data), sizeBytes: 11 });
    expect(await readFile(out, 'utf8')).toBe('hello world');
    expect(await readdir(dir)).toEqual(['a.bin']);
  });

  it('removes the partial and names both digests on a sha256 mismatch', async () => {
    const dir = await tmp();
    const out = join(dir, 'a.bin');
    await expect(
      writeVerified(Readable.from([Buffer.from('evil')]), out, {
        expected: { sha256: 'a'.repeat(64) },
        label: 'vm/x',
      }),
    ).rejects.toThrow(
      `sha256 mismatch for vm/x: expected ${'a'.repeat(64)}, got ${sha256Hex('evil')}`,
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('fails a size mismatch and removes the partial', async () => {
    const dir = await tmp();
    await expect(
      writeVerified(Readable.from([Buffer.from('abc')]), join(dir, 'a'), {
        expected: { sizeBytes: 4 },
      }),
    ).rejects.toThrow('size mismatch for');
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes the partial when the source errors mid-stream', async () => {
    const dir = await tmp();
    async function* broken() {
      yield Buffer.from('part');
      throw new Error('connection reset');
    }
    await expect(writeVerified(broken(), join(dir, 'a'))).rejects.toThrow('connection reset');
    expect(await readdir(dir)).toEqual([]);
  });

  it('keeps the partial for a resume when asked, and a resume hashes the prefix', async () => {
    const dir = await tmp();
    const out = join(dir, 'a');
    async function* cut() {
      yield Buffer.from('0123');
      // Give the write time to land, so the kept partial holds the whole prefix.
      await new Promise((r) => setTimeout(r, 50));
      throw new Error('cut');
    }
    await expect(writeVerified(cut(), out, { keepPartialOnError: true })).rejects.toThrow('cut');
    expect(await readdir(dir)).toEqual(['a.partial']);
    const kept = await partialSize(out);
    expect(kept).toBe(4);
    const digest = await writeVerified(
      Readable.from([Buffer.from('0123456789'.slice(kept))]),
      out,
      {
        resumeFrom: kept,
        expected: { sha256: sha256Hex('0123456789'), sizeBytes: 10 },
      },
    );
    expect(digest.sizeBytes).toBe(10);
    expect(await readFile(out, 'utf8')).toBe('0123456789');
    expect(await readdir(dir)).toEqual(['a']);
  });

  it('resumes over a longer stale partial by truncating at the resume point', async () => {
    const dir = await tmp();
    const out = join(dir, 'a');
    await writeFile(`${out}.partial`, '0123XXXXXXXXXXXX');
    await expect(
      writeVerified(Readable.from([Buffer.from('456789')]), out, {
        resumeFrom: 4,
        expected: { sha256: sha256Hex('0123456789') },
      }),
    ).resolves.toMatchObject({ sizeBytes: 10 });
    expect(await readFile(out, 'utf8')).toBe('0123456789');
  });
});
