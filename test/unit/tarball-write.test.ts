import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/lib/fs/hash.js';
import { PodmanError } from '../../src/lib/podman/errors.js';
import type { SaveStream } from '../../src/lib/podman/transport.js';
import { archiveFormatFor, writeCompressed } from '../../src/lib/tarball/build.js';
import { createCompressor } from '../../src/lib/tarball/compress.js';

/** A save whose bytes come from memory; `fail` makes podman's verdict an error. */
function fakeSave(chunks: Buffer[], fail?: PodmanError): SaveStream & { cancelled: boolean } {
  const done = fail ? Promise.reject(fail) : Promise.resolve();
  done.catch(() => {});
  const save = {
    stream: Readable.from(chunks),
    done,
    cancelled: false,
    cancel: () => {
      save.cancelled = true;
    },
  };
  return save;
}

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vm-tools-write-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const data = Buffer.from('agent layer bytes '.repeat(50_000));
const noTools = { PATH: '' };

describe('archiveFormatFor', () => {
  it('uses formats podman 4.3.1 loads', () => {
    expect(archiveFormatFor('gzip')).toEqual({ format: 'oci-archive', uncompressed: true });
    expect(archiveFormatFor('zstd')).toEqual({ format: 'docker-archive', uncompressed: false });
  });
});

describe('writeCompressed (Node compressors, no external tools on PATH)', () => {
  for (const compression of ['gzip', 'zstd'] as const) {
    it(`writes ${compression} and hashes the compressed bytes`, async () => {
      const dir = await tempDir();
      const out = join(dir, `a.${compression}`);
      const compressor = createCompressor(compression, noTools);
      expect(compressor.tool).toBe(compression === 'gzip' ? 'zlib gzip -6' : 'node zstd -3');
      const digest = await writeCompressed(fakeSave([data]), compressor, out);
      const written = await readFile(out);
      expect(digest).toEqual({ sha256: sha256Hex(written), sizeBytes: written.length });
      const raw = compression === 'gzip' ? gunzipSync(written) : zstdDecompressSync(written);
      expect(raw.equals(data)).toBe(true);
      expect(await readdir(dir)).toEqual([`a.${compression}`]);
    });
  }

  it('removes the partial when podman reports failure after streaming', async () => {
    const dir = await tempDir();
    const failure = new PodmanError('command_failed', 'podman save failed: exit code 125');
    const save = fakeSave([data], failure);
    await expect(
      writeCompressed(save, createCompressor('gzip', noTools), join(dir, 'a.tar.gz')),
    ).rejects.toBe(failure);
    expect(save.cancelled).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes the partial when the stream breaks mid-way', async () => {
    const dir = await tempDir();
    async function* broken() {
      yield data;
      throw new Error('connection reset');
    }
    const save = { ...fakeSave([]), stream: Readable.from(broken()) };
    await expect(
      writeCompressed(save, createCompressor('zstd', noTools), join(dir, 'a.tar.zst')),
    ).rejects.toThrow('connection reset');
    expect(await readdir(dir)).toEqual([]);
  });
});
