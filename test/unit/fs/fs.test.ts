import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempPathFor, writeFileAtomic } from '../../../src/lib/fs/atomic.js';
import { parseSidecar, sha256File, sha256Hex, sidecarLine } from '../../../src/lib/fs/hash.js';
import { tempDir } from '../../support/release.js';

describe('writeFileAtomic', () => {
  it('creates parent directories and replaces the whole file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'a', 'b', 'manifest.json');
    await writeFileAtomic(path, 'first');
    await writeFileAtomic(path, 'second');
    expect(await readFile(path, 'utf8')).toBe('second');
    expect(await readdir(dirname(path))).toEqual(['manifest.json']);
  });

  it('leaves no temp file when the rename fails', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'taken'));
    await writeFile(join(dir, 'taken', 'x'), 'keep');
    await expect(writeFileAtomic(join(dir, 'taken'), 'data')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['taken']);
  });

  it('names temp files beside the target, hidden and unique', () => {
    const a = tempPathFor('/d/manifest.json');
    expect(dirname(a)).toBe('/d');
    expect(a).toMatch(/^\/d\/\.manifest\.json\.[0-9a-f]{12}\.tmp$/);
    expect(tempPathFor('/d/manifest.json')).not.toBe(a);
  });
});

describe('hashing', () => {
  it('hashes a file in chunks with its size', async () => {
    const dir = await tempDir();
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 7, 0x61);
    await writeFile(join(dir, 'f'), bytes);
    expect(await sha256File(join(dir, 'f'))).toEqual({
      sha256: createHash('sha256').update(bytes).digest('hex'),
      sizeBytes: bytes.length,
    });
    await writeFile(join(dir, 'empty'), '');
    expect(await sha256File(join(dir, 'empty'))).toEqual({
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      sizeBytes: 0,
    });
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('writes and reads sha256sum-style sidecars', () => {
    const sha = 'ab'.repeat(32);
    expect(sidecarLine(sha, 'a.tar.gz')).toBe(`${sha}  a.tar.gz\n`);
    expect(parseSidecar(sidecarLine(sha, 'a.tar.gz'))).toBe(sha);
    expect(parseSidecar(`${sha}\n`)).toBe(sha);
    expect(parseSidecar('AB'.repeat(32))).toBeUndefined();
    expect(parseSidecar('not a sidecar')).toBeUndefined();
  });
});
