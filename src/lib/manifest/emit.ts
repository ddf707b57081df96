import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '../fs/hash.js';
import type { Arch } from './arch.js';
import type { Bundle } from './bundle.js';
import { type Compression, EXTENSIONS, IMAGES_PREFIX, tarballBasename } from './keys.js';
import type { Manifest } from './manifest.js';
import type { Tarball } from './schema.js';
import { buildSliceEntries, checkSlice, mergeSlice, type Slice } from './slice.js';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * Finds `<dist>/images/<name>-<version>-<arch>.tar.gz` (or `.tar.zst`) and hashes
 * it: the key always matches the file's real compression.
 */
export function tarballFromDist(distDir: string) {
  return async (name: string, version: string, arch: Arch): Promise<Tarball> => {
    const candidates = (Object.keys(EXTENSIONS) as Compression[]).map((c) =>
      tarballBasename(name, version, arch, c),
    );
    const found: string[] = [];
    for (const file of candidates)
      if (await exists(join(distDir, 'images', file))) found.push(file);
    const file = found[0];
    if (!file) {
      throw new Error(
        `missing tarball inputs for ${name}/${arch}: ${join(distDir, 'images', candidates[0] as string)}`,
      );
    }
    if (found.length > 1) {
      throw new Error(
        `ambiguous tarball inputs for ${name}/${arch}: both ${found.join(' and ')} exist`,
      );
    }
    const digest = await sha256File(join(distDir, 'images', file));
    return { key: `${IMAGES_PREFIX}${file}`, ...digest };
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
