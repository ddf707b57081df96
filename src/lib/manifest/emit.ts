import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '../fs/hash.js';
import type { Arch } from './arch.js';
import type { Bundle } from './bundle.js';
import {
  type Compression,
  compressionOfBytes,
  EXTENSIONS,
  IMAGES_PREFIX,
  tarballBasename,
} from './keys.js';
import type { Manifest } from './manifest.js';
import type { Tarball } from './schema.js';
import { buildSliceEntries, checkSlice, mergeSlice, type Slice } from './slice.js';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function sniffCompression(path: string): Promise<Compression | undefined> {
  const file = await open(path, 'r');
  try {
    const head = new Uint8Array(4);
    const { bytesRead } = await file.read(head, 0, 4, 0);
    return compressionOfBytes(head.subarray(0, bytesRead));
  } finally {
    await file.close();
  }
}

/**
 * Finds `<dist>/images/<name>-<version>-<arch>.tar.gz` (or `.tar.zst`) and hashes
 * it: the key always matches the file's real compression.
 */
export function tarballFromDist(distDir: string) {
  return async (name: string, version: string, arch: Arch): Promise<Tarball> => {
    const images = join(distDir, 'images');
    const found: { file: string; named: Compression }[] = [];
    for (const named of Object.keys(EXTENSIONS) as Compression[]) {
      const file = tarballBasename(name, version, arch, named);
      if (await exists(join(images, file))) found.push({ file, named });
    }
    const [first, second] = found;
    if (!first) {
      const expected = join(images, tarballBasename(name, version, arch, 'gzip'));
      throw new Error(`missing tarball inputs for ${name}/${arch}: ${expected}`);
    }
    if (second) {
      throw new Error(
        `ambiguous tarball inputs for ${name}/${arch}: both ${first.file} and ${second.file} exist`,
      );
    }
    const path = join(images, first.file);
    // The key tells readers how to decompress: a zstd file named .tar.gz (or the
    // reverse) would break every one of them. Content that is neither (test
    // fixtures) keeps the name it was given.
    const real = await sniffCompression(path);
    if (real && real !== first.named) {
      throw new Error(
        `tarball ${path} is ${real}-compressed but named ${EXTENSIONS[first.named]}; rename it to ${EXTENSIONS[real]}`,
      );
    }
    return { key: `${IMAGES_PREFIX}${first.file}`, ...(await sha256File(path)) };
  };
}

export interface EmitOptions {
  bundle: Bundle;
  distDir: string;
  slice: Slice;
  baseline?: Manifest;
  /** Whether a baseline was asked for (an allowed-empty one is absent but asked for). */
  hasBaseline?: boolean;
  arches?: readonly Arch[];
  now: Date;
}

export async function emitManifest(options: EmitOptions): Promise<Manifest> {
  checkSlice(options.slice, options.bundle, options.hasBaseline ?? options.baseline !== undefined);
  const entries = await buildSliceEntries(
    options.slice,
    options.bundle,
    tarballFromDist(options.distDir),
    options.arches,
  );
  return mergeSlice(options.slice, entries, options.baseline, options.now);
}
