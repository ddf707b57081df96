import { lstat, realpath, statfs } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { ARCHES, type Arch, hostArch } from '../manifest/arch.js';
import { keyProblem, MANIFEST_KEY } from '../manifest/keys.js';
import { listTarballs, type Manifest } from '../manifest/manifest.js';
import { formatBytes } from '../progress.js';

export const ARCH_CHOICES = ['host', 'arm64', 'x64', 'all'] as const;
export type ArchChoice = (typeof ARCH_CHOICES)[number];

/** `host` maps the running machine's arch and fails on one the agents cannot run on. */
export function resolveArches(choice: ArchChoice, nodeArch: string = process.arch): Arch[] {
  if (choice === 'all') return [...ARCHES];
  if (choice === 'host') return [hostArch(nodeArch)];
  return [choice];
}

export interface Wanted {
  agent: string;
  arch: Arch;
  key: string;
  sha256: string;
  sizeBytes: number;
  /** `<cache-dir>/<key>`. */
  path: string;
}

/** The tarballs of the chosen agents (default all) and arches, in manifest order. */
export function selectTarballs(
  manifest: Manifest,
  arches: readonly Arch[],
  agents: readonly string[],
  cacheDir: string,
): Wanted[] {
  const names = Object.keys(manifest.agents);
  for (const agent of agents) {
    if (!names.includes(agent)) {
      throw new Error(
        `agent "${agent}" is not in the manifest (it has: ${names.sort().join(', ') || 'none'})`,
      );
    }
  }
  return listTarballs(manifest)
    .filter((t) => arches.includes(t.arch as Arch))
    .filter((t) => agents.length === 0 || agents.includes(t.agent))
    .map((t) => ({ ...t, arch: t.arch as Arch, path: join(cacheDir, ...t.key.split('/')) }));
}

/** Names the cache keeps for itself; a manifest key must never land on them. */
function reservedProblem(key: string): string | undefined {
  if (key === MANIFEST_KEY) return `is the local manifest's own path`;
  if (key.split('/')[0]?.startsWith('.vm-tools')) return 'uses a name reserved for the cache';
  if (key.endsWith('.partial')) return 'ends in .partial, reserved for downloads in progress';
  return undefined;
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * Lexical checks on every key about to be written or deleted, before anything
 * is: the key rules, reserved names, staying under the cache dir, and no key
 * that is a directory of another (one of the two could never be written).
 */
export function checkKeys(keys: readonly string[], cacheDir: string): void {
  const all = new Set([...keys, MANIFEST_KEY]);
  for (const key of keys) {
    const problem = keyProblem(key) ?? reservedProblem(key);
    if (problem) throw new Error(`refusing manifest key "${key}": ${problem}`);
    if (!inside(cacheDir, join(cacheDir, ...key.split('/')))) {
      throw new Error(`refusing manifest key "${key}": it resolves outside the cache directory`);
    }
    const segments = key.split('/');
    for (let i = 1; i < segments.length; i++) {
      const prefix = segments.slice(0, i).join('/');
      if (all.has(prefix)) {
        throw new Error(
          `refusing manifest key "${key}": "${prefix}" is both a file and a directory in the cache`,
        );
      }
    }
  }
}

/**
 * Filesystem checks: a key whose path is already a directory cannot be written,
 * and no existing parent may be a symlink leading out of the cache directory.
 */
export async function checkTargets(keys: readonly string[], cacheDir: string): Promise<void> {
  const root = await realpath(cacheDir);
  for (const key of keys) {
    const path = join(cacheDir, ...key.split('/'));
    const info = await lstat(path).catch(() => undefined);
    if (info?.isDirectory()) {
      throw new Error(`refusing manifest key "${key}": ${path} is a directory in the cache`);
    }
    if (info?.isSymbolicLink()) {
      throw new Error(`refusing manifest key "${key}": ${path} is a symlink`);
    }
    let parent = dirname(path);
    while (parent !== cacheDir && inside(cacheDir, parent)) {
      const real = await realpath(parent).catch(() => undefined);
      if (real !== undefined) {
        if (real !== root && !real.startsWith(root + sep)) {
          throw new Error(
            `refusing manifest key "${key}": ${parent} leads outside the cache directory`,
          );
        }
        break;
      }
      parent = dirname(parent);
    }
  }
}

/** Bytes an unprivileged writer may still use on the filesystem holding `dir`. */
export async function freeBytesOf(dir: string): Promise<number> {
  const fs = await statfs(dir);
  return fs.bavail * fs.bsize;
}

/**
 * Fails before any download when the files still to fetch cannot fit: better
 * than filling the disk halfway through a multi-GiB sync. Conservative: a file
 * being replaced still occupies its space until the new one is renamed over it.
 */
export function checkFreeSpace(needBytes: number, freeBytes: number, dir: string): void {
  if (needBytes > freeBytes) {
    throw new Error(
      `not enough free space in ${dir}: the download needs ${needBytes} bytes (${formatBytes(needBytes)}), the filesystem has ${freeBytes} bytes (${formatBytes(freeBytes)}) free`,
    );
  }
}
