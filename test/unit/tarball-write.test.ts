import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/lib/fs/hash.js';
import { PodmanError } from '../../src/lib/podman/errors.js';
import type { SaveStream } from '../../src/lib/podman/transport.js';
import { archiveFormatFor, writeCompressed } from '../../src/lib/tarball/build.js';
import {
  createCompressor,
  findCompressorTool,
  findExecutable,
} from '../../src/lib/tarball/compress.js';

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

describe('archiveFormatFor', () => {
  it('uses formats podman 4.3.1 loads', () => {
    expect(archiveFormatFor('gzip')).toEqual({ format: 'oci-archive', uncompressed: true });
    expect(archiveFormatFor('zstd')).toEqual({ format: 'docker-archive', uncompressed: false });
  });
});

describe('findCompressorTool', () => {
  it('takes pigz for gzip and zstd for zstd when the lookup finds them, else none', async () => {
    const asked: string[] = [];
    const found = async (name: string) => {
      asked.push(name);
      return `/opt/tools/${name}`;
    };
    expect(await findCompressorTool('gzip', found)).toEqual({
      path: '/opt/tools/pigz',
      args: ['-6', '-c'],
      tool: 'pigz -6',
    });
    expect(await findCompressorTool('zstd', found)).toEqual({
      path: '/opt/tools/zstd',
      args: ['-3', '-T0', '-q', '-c'],
      tool: 'zstd -3 -T0',
    });
    expect(asked).toEqual(['pigz', 'zstd']);
    expect(await findCompressorTool('gzip', async () => undefined)).toBeUndefined();
  });

  it('finds executables on PATH and nothing for a missing or non-executable name', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'vmt-tool'), '#!/bin/sh\n');
    await writeFile(join(dir, 'vmt-plain'), 'not executable');
    await chmod(join(dir, 'vmt-tool'), 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${dir}:${path}`;
    try {
      expect(await findExecutable('vmt-tool')).toBe(join(dir, 'vmt-tool'));
      expect(await findExecutable('vmt-plain')).toBeUndefined();
      expect(await findExecutable('vmt-no-such-tool')).toBeUndefined();
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('writeCompressed (Node compressors)', () => {
  for (const compression of ['gzip', 'zstd'] as const) {
    it(`writes ${compression} and hashes the compressed bytes`, async () => {
      const dir = await tempDir();
      const out = join(dir, `a.${compression}`);
      const compressor = createCompressor(compression, undefined);
      expect(compressor.tool).toBe(compression === 'gzip' ? 'zlib gzip -6' : 'node zstd -3');
      const reported: number[] = [];
      const digest = await writeCompressed(fakeSave([data]), compressor, out, (n) =>
        reported.push(n),
      );
      const written = await readFile(out);
      expect(digest).toEqual({ sha256: sha256Hex(written), sizeBytes: written.length });
      expect(reported.at(-1)).toBe(written.length);
      expect(reported).toEqual([...reported].sort((a, b) => a - b));
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
      writeCompressed(save, createCompressor('gzip', undefined), join(dir, 'a.tar.gz')),
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
      writeCompressed(save, createCompressor('zstd', undefined), join(dir, 'a.tar.zst'), () => {}),
    ).rejects.toThrow('connection reset');
    expect(await readdir(dir)).toEqual([]);
  });

  it('fails, and cancels the save, when the file cannot be written', async () => {
    const dir = await tempDir();
    const save = fakeSave([data]);
    const reported: number[] = [];
    await expect(
      writeCompressed(
        save,
        createCompressor('gzip', undefined),
        join(dir, 'gone', 'a.tar.gz'),
        (n) => reported.push(n),
      ),
    ).rejects.toMatchObject({ code: 'ENOENT' });
    expect(save.cancelled).toBe(true);
    expect(reported).toEqual([]);
  });
});
