import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partialPathOf } from '../../src/lib/fs/verified-write.js';
import { tarballBasename } from '../../src/lib/manifest/keys.js';
import { formatBytes } from '../../src/lib/progress.js';
import { buildTarball } from '../../src/lib/tarball/build.js';
import { buildSampleImage } from '../../src/lib/tarball/sample-image.js';
import { podman, removeImages, uniqueImage } from '../support/podman.js';

const VERSION = '1.0.0';
const image = uniqueImage('progress');
const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vm-tools-progress-'));
  // Random bytes do not compress: the tarball is ~6 MiB, written in many chunks.
  await buildSampleImage(podman, {
    ref: `${image}:${VERSION}`,
    extraFiles: { '/data/blob': randomBytes(6 * 1024 * 1024) },
  });
});

afterAll(async () => {
  await removeImages(image);
  await rm(dir, { recursive: true, force: true });
});

describe('build-tarball progress (real podman)', () => {
  for (const compression of ['gzip', 'zstd'] as const) {
    it(`reports only bytes already on disk, then the final size (${compression})`, async () => {
      const outputDir = join(dir, compression);
      const basename = tarballBasename('progress', VERSION, arch, compression);
      const path = join(outputDir, basename);
      // Each line is recorded with the size of the file on disk at the moment it is printed.
      const lines: { line: string; onDisk: number }[] = [];
      let clock = 0;
      const built = await buildTarball({
        podman,
        name: 'progress',
        image,
        version: VERSION,
        arch,
        outputDir,
        pull: 'never',
        compression,
        // A slow clock: a second per reading, so a progress line falls due every few writes.
        now: () => {
          clock += 1_000;
          return clock;
        },
        log: (line) =>
          lines.push({
            line,
            onDisk:
              statSync(partialPathOf(path), { throwIfNoEntry: false })?.size ??
              statSync(path, { throwIfNoEntry: false })?.size ??
              -1,
          }),
      });
      const finalSize = statSync(path).size;
      expect(built.sizeBytes).toBe(finalSize);
      expect(finalSize).toBeGreaterThan(6 * 1024 * 1024);

      const progress = lines.filter((l) => / compressed$/.test(l.line));
      for (const { line, onDisk } of progress) {
        expect(line).toBe(`wrote ${formatBytes(onDisk)} compressed`);
        expect(onDisk).toBeLessThanOrEqual(finalSize);
      }
      // Not the compressor's first few header bytes.
      expect(progress[0]?.onDisk).toBeGreaterThan(1024);
      expect(progress.length).toBeGreaterThan(2);

      const last = lines.at(-1)?.line ?? '';
      expect(last.startsWith(`wrote ${basename}: ${formatBytes(finalSize)} in `)).toBe(true);
    });
  }
});
