import type { Arch } from './arch.js';

export const MANIFEST_KEY = 'vm/manifest.json';
export const IMAGES_PREFIX = 'vm/images/';

export type Compression = 'gzip' | 'zstd';
export const EXTENSIONS: Record<Compression, string> = { gzip: '.tar.gz', zstd: '.tar.zst' };

const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Why a key breaks the key rules, or undefined when it is valid. */
export function keyProblem(key: string): string | undefined {
  if (key.length === 0) return 'is empty';
  if (key.includes('\\')) return 'contains a backslash';
  if (key.startsWith('/')) return 'is absolute';
  for (const segment of key.split('/')) {
    if (segment === '') return 'has an empty segment';
    if (segment === '.' || segment === '..') return `has a "${segment}" segment`;
    if (!SEGMENT.test(segment)) return 'has characters outside [A-Za-z0-9._/-]';
  }
  return undefined;
}

export function isValidKey(key: string): boolean {
  return keyProblem(key) === undefined;
}

/** Throws `invalid key "<key>": <why>` for any key that breaks the rules. */
export function assertKey(key: string): string {
  const problem = keyProblem(key);
  if (problem) throw new Error(`invalid key "${key}": ${problem}`);
  return key;
}

export function tarballBasename(
  name: string,
  version: string,
  arch: Arch,
  compression: Compression,
): string {
  return `${name}-${version}-${arch}${EXTENSIONS[compression]}`;
}

export function tarballKey(
  name: string,
  version: string,
  arch: Arch,
  compression: Compression,
): string {
  return `${IMAGES_PREFIX}${tarballBasename(name, version, arch, compression)}`;
}

export function compressionOfKey(key: string): Compression | undefined {
  if (key.endsWith(EXTENSIONS.gzip)) return 'gzip';
  if (key.endsWith(EXTENSIONS.zstd)) return 'zstd';
  return undefined;
}

/** The compression a file's first bytes show (gzip 1f 8b, zstd 28 b5 2f fd), if any. */
export function compressionOfBytes(head: Uint8Array): Compression | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return undefined;
}

export function basename(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}
