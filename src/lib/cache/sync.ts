import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../fs/atomic.js';
import { sha256File, sha256Hex } from '../fs/hash.js';
import { withLock } from '../fs/lock.js';
import { partialPathOf } from '../fs/verified-write.js';
import type { Arch } from '../manifest/arch.js';
import { MANIFEST_KEY } from '../manifest/keys.js';
import { listTarballs, type Manifest, parseManifest } from '../manifest/manifest.js';
import {
  ARCH_CHOICES,
  type ArchChoice,
  checkFreeSpace,
  checkKeys,
  checkTargets,
  freeBytesOf,
  resolveArches,
  selectTarballs,
  type Wanted,
} from './plan.js';
import { parseManifestUrl } from './source.js';
import { downloadVerified, fetchBytes, type TransportOptions } from './transport.js';
import { readIndex, recordVerified, trusted, writeIndex } from './verified-index.js';

export const MANIFEST_URL_ENV = 'VM_TOOLS_MANIFEST_URL';
export const DEFAULT_CONCURRENCY = 4;

export interface SyncProgress {
  key: string;
  /** Bytes received so far across the whole sync. */
  receivedBytes: number;
  totalBytes: number;
  doneFiles: number;
  totalFiles: number;
}

export interface SyncOptions extends TransportOptions {
  /** https://…/vm/manifest.json, http://… or file:///…; default: $VM_TOOLS_MANIFEST_URL. */
  manifestUrl?: string;
  cacheDir: string;
  /** Default `host`. */
  arch?: ArchChoice;
  /** Agent names to hydrate; empty or absent: all. */
  agents?: readonly string[];
  /** Parallel downloads (default 4). */
  concurrency?: number;
  /** Remove artifacts the new manifest no longer names (default false). */
  prune?: boolean;
  /** `process.arch` of the host (injectable for tests). */
  hostArch?: string;
  env?: NodeJS.ProcessEnv;
  /** The remote manifest's bytes when the caller already fetched them (e.g. to derive a cache key). */
  manifestBytes?: Uint8Array;
  /** How long to wait for another process holding the cache dir (default 30 min). */
  lockTimeoutMs?: number;
  onProgress?: (progress: SyncProgress) => void;
  /** Free bytes on the filesystem holding the cache dir (default: statfs; injectable for tests). */
  freeBytes?: (dir: string) => Promise<number>;
}

export interface SyncResult {
  /** Keys fetched over the network, in manifest order. */
  downloaded: string[];
  /** Keys already on disk with the right sha256 that were verified and kept. */
  adopted: string[];
  /** Keys removed because the manifest no longer names them (prune only). */
  pruned: string[];
  /** Every selected key, in manifest order. */
  selected: string[];
  manifestPath: string;
  manifestSha256: string;
  arches: Arch[];
  /** True when the cache already matched: local manifest identical, nothing downloaded or pruned. */
  skipped: boolean;
  bytesDownloaded: number;
}

/** Everything a sync needs, checked before any request or write. */
export interface SyncPlanInput {
  manifestUrl: string;
  cacheDir: string;
  arches: Arch[];
  agents: string[];
  concurrency: number;
}

function resolveSyncInput(options: SyncOptions): SyncPlanInput {
  const env = options.env ?? process.env;
  const url = options.manifestUrl ?? env[MANIFEST_URL_ENV];
  if (!url) throw new Error(`no manifest URL: pass manifestUrl or set ${MANIFEST_URL_ENV}`);
  parseManifestUrl(url);
  const choice = options.arch ?? 'host';
  if (!(ARCH_CHOICES as readonly string[]).includes(choice)) {
    throw new Error(`arch must be one of ${ARCH_CHOICES.join(', ')}; got "${choice}"`);
  }
  const arches = resolveArches(choice, options.hostArch ?? process.arch);
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new Error(`concurrency must be a positive integer; got ${concurrency}`);
  }
  if (!options.cacheDir) throw new Error('cacheDir is required');
  return {
    manifestUrl: url,
    cacheDir: resolve(options.cacheDir),
    arches,
    agents: [...(options.agents ?? [])],
    concurrency,
  };
}

/** Runs `work` over `items` with at most `limit` at once; stops taking new items after a failure. */
async function pool<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const queue = [...items];
  const errors: unknown[] = [];
  await Promise.all(
    Array.from({ length: Math.min(limit, queue.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
        if (errors.length > 0) return;
        try {
          await work(item);
        } catch (error) {
          errors.push(error);
        }
      }
    }),
  );
  if (errors.length > 0) throw errors[0];
}

/** The lock every writer of a cache directory holds (sync, and an Actions cache restore). */
export function cacheDirLockPath(cacheDir: string): string {
  return join(cacheDir, '.vm-tools');
}

/**
 * Makes `cacheDir` match the remote manifest for the selected arches and
 * agents: downloads what is missing or changed (verified, renamed into place),
 * trusts files the verified-file index vouches for, and writes the local
 * manifest last, so a reader that sees the manifest sees every file it names.
 * One process at a time per cache dir (a lock file inside it).
 */
export async function syncCache(options: SyncOptions): Promise<SyncResult> {
  const input = resolveSyncInput(options);
  await mkdir(input.cacheDir, { recursive: true });
  return withLock(cacheDirLockPath(input.cacheDir), () => syncLocked(input, options), {
    timeoutMs: options.lockTimeoutMs ?? 30 * 60_000,
    what: `cache directory ${input.cacheDir}`,
  });
}

async function readLocalManifest(path: string): Promise<{ bytes?: Buffer; manifest?: Manifest }> {
  const bytes = await readFile(path).catch(() => undefined);
  if (!bytes) return {};
  try {
    return { bytes, manifest: parseManifest(bytes.toString('utf8'), path) };
  } catch {
    return { bytes };
  }
}

async function syncLocked(input: SyncPlanInput, options: SyncOptions): Promise<SyncResult> {
  const { cacheDir } = input;
  const source = parseManifestUrl(input.manifestUrl);
  const bytes = Buffer.from(
    options.manifestBytes ?? (await fetchBytes(source.manifestUrl, options)),
  );
  const manifest = parseManifest(bytes.toString('utf8'), source.manifestUrl);
  const wanted = selectTarballs(manifest, input.arches, input.agents, cacheDir);
  const keys = wanted.map((w) => w.key);
  checkKeys(keys, cacheDir);
  await checkTargets(keys, cacheDir);

  const manifestPath = join(cacheDir, ...MANIFEST_KEY.split('/'));
  const local = await readLocalManifest(manifestPath);
  const index = await readIndex(cacheDir);
  let indexDirty = false;

  const download: Wanted[] = [];
  const adopted: string[] = [];
  for (const w of wanted) {
    // A partial left by a process that was killed: this run starts it afresh.
    await rm(partialPathOf(w.path), { force: true });
    const info = await stat(w.path).catch(() => undefined);
    if (!info?.isFile() || info.size !== w.sizeBytes) {
      download.push(w);
      continue;
    }
    const entry = index.get(w.key);
    if (trusted(entry, info, w.sha256)) continue;
    if (entry && entry.sizeBytes === info.size && entry.mtimeMs === info.mtimeMs) {
      // Unchanged since it was verified as an older object: no need to hash it to know.
      download.push(w);
      continue;
    }
    const digest = await sha256File(w.path);
    if (digest.sha256 === w.sha256) {
      await recordVerified(index, w.key, w.path, w.sha256);
      indexDirty = true;
      adopted.push(w.key);
    } else {
      download.push(w);
    }
  }

  const totalBytes = download.reduce((n, w) => n + w.sizeBytes, 0);
  if (totalBytes > 0) {
    // A filesystem that cannot say (statfs unsupported) is not a reason to refuse.
    const free = await (options.freeBytes ?? freeBytesOf)(cacheDir).catch(() => undefined);
    if (free !== undefined) checkFreeSpace(totalBytes, free, cacheDir);
  }
  let receivedBytes = 0;
  let doneFiles = 0;
  const downloadedSet = new Set<string>();
  try {
    await pool(download, input.concurrency, async (w) => {
      await downloadVerified(
        {
          url: new URL(w.key, source.rootUrl).href,
          out: w.path,
          key: w.key,
          sha256: w.sha256,
          sizeBytes: w.sizeBytes,
          onBytes: (n) => {
            receivedBytes += n;
            options.onProgress?.({
              key: w.key,
              receivedBytes,
              totalBytes,
              doneFiles,
              totalFiles: download.length,
            });
          },
        },
        options,
      );
      await recordVerified(index, w.key, w.path, w.sha256);
      indexDirty = true;
      downloadedSet.add(w.key);
      doneFiles++;
    });
  } finally {
    // Keep what was verified even when another download failed: the next run skips it.
    if (indexDirty) await writeIndex(cacheDir, index);
  }

  const pruned: string[] = [];
  if (options.prune) {
    const named = new Set(listTarballs(manifest).map((t) => t.key));
    const previous = new Set([
      ...index.keys(),
      ...(local.manifest ? listTarballs(local.manifest).map((t) => t.key) : []),
    ]);
    const stale = [...previous].filter((key) => !named.has(key)).sort();
    // The index and old manifest are local files, but they are checked like remote keys before a delete.
    checkKeys(stale, cacheDir);
    await checkTargets(stale, cacheDir);
    for (const key of stale) {
      const path = join(cacheDir, ...key.split('/'));
      const existed = await stat(path).then(
        () => true,
        () => false,
      );
      await rm(path, { force: true });
      if (index.delete(key)) await writeIndex(cacheDir, index);
      if (existed) pruned.push(key);
    }
  }

  const unchanged = local.bytes?.equals(bytes) ?? false;
  if (!unchanged) await writeFileAtomic(manifestPath, bytes);
  const downloaded = keys.filter((k) => downloadedSet.has(k));
  return {
    downloaded,
    adopted,
    pruned,
    selected: keys,
    manifestPath,
    manifestSha256: sha256Hex(bytes),
    arches: input.arches,
    skipped: unchanged && downloaded.length === 0 && pruned.length === 0,
    bytesDownloaded: receivedBytes,
  };
}
