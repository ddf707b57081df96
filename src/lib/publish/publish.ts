import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Arch } from '../manifest/arch.js';
import type { Bundle } from '../manifest/bundle.js';
import { tarballFromDist } from '../manifest/emit.js';
import { basename, MANIFEST_KEY } from '../manifest/keys.js';
import { type Manifest, parseManifest, serializeManifest } from '../manifest/manifest.js';
import type { AgentEntry } from '../manifest/schema.js';
import {
  buildSliceEntries,
  checkSlice,
  formatSlice,
  mergeSlice,
  type Slice,
} from '../manifest/slice.js';
import { backoffDelay, sleep as realSleep } from '../retry.js';
import {
  type RetryPolicy,
  type UploadResult,
  uploadArtifact,
  verifyUploaded,
  withStoreRetry,
} from '../store/transfer.js';
import { isStoreError, quoteEtag, type Store, StoreError, unquoteEtag } from '../store/types.js';

export interface PublishOptions {
  store: Store;
  bundle: Bundle;
  distDir: string;
  slice: Slice;
  arches?: readonly Arch[];
  manifestKey?: string;
  allowEmptyBaseline?: boolean;
  requireConditionalWrites?: boolean;
  overwrite?: boolean;
  sidecar?: boolean;
  /** Bounds the whole publish: transient retries and manifest contention. */
  deadlineMs: number;
  now?: () => Date;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  log?: (message: string) => void;
  warn?: (message: string) => void;
}

export interface PublishResult {
  manifest: Manifest;
  manifestEtag: string;
  /** Manifest write attempts (1 when nobody else was writing). */
  attempts: number;
  uploaded: UploadResult[];
  /** created: this publish made the first manifest; unchanged: it already held the slice. */
  outcome: 'created' | 'merged' | 'unchanged';
  entries: Record<string, AgentEntry>;
}

export function probeKey(manifestKey: string): string {
  const slash = manifestKey.lastIndexOf('/');
  return `${slash === -1 ? '' : manifestKey.slice(0, slash + 1)}.conditional-write-probe`;
}

/**
 * Whether the store enforces conditional writes: an `If-None-Match: *` write on
 * a key that exists must fail. Some S3-compatibles (and proxies) drop the header
 * and would let concurrent publishers silently overwrite each other.
 */
export async function storeEnforcesConditionalWrites(
  store: Store,
  key: string,
  policy: RetryPolicy,
): Promise<boolean> {
  const exists = await withStoreRetry(`HEAD ${key}`, () => store.head(key), policy);
  if (!exists) {
    await withStoreRetry(
      `PUT ${key}`,
      () => store.put(key, 'probe\n', { contentType: 'text/plain' }),
      policy,
    );
  }
  try {
    await withStoreRetry(
      `PUT ${key} (If-None-Match probe)`,
      () => store.put(key, 'probe\n', { ifNoneMatch: '*', contentType: 'text/plain' }),
      policy,
    );
    return false;
  } catch (error) {
    if (isStoreError(error, 'precondition_failed')) return true;
    throw error;
  }
}

function sameSlice(slice: Slice, entries: Record<string, AgentEntry>, manifest: Manifest): boolean {
  if (slice.kind === 'full') return isDeepStrictEqual(manifest.agents, entries);
  return isDeepStrictEqual(manifest.agents[slice.name], entries[slice.name]);
}

/**
 * Publishes one slice: uploads and verifies every artifact first, then merges the
 * slice into the manifest with compare-and-swap, re-reading and retrying when
 * another publisher won, so no slice is lost and no client sees a manifest naming
 * an artifact that is not fully there.
 */
export async function publishSlice(options: PublishOptions): Promise<PublishResult> {
  const { store, bundle, slice } = options;
  const manifestKey = options.manifestKey ?? MANIFEST_KEY;
  const log = options.log ?? (() => {});
  const warn = options.warn ?? log;
  const clock = options.clock ?? Date.now;
  const wait = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const now = options.now ?? (() => new Date());
  const started = clock();
  const remaining = () => Math.max(1, options.deadlineMs - (clock() - started));
  const policy = (): RetryPolicy => ({
    deadlineMs: remaining(),
    log,
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.random ? { random: options.random } : {}),
  });

  checkSlice(slice, bundle, true);
  const entries = await buildSliceEntries(
    slice,
    bundle,
    tarballFromDist(options.distDir),
    options.arches,
  );
  const tarballs = Object.values(entries).flatMap((e) => Object.values(e.tarballs));

  // 1. Artifacts first, each verified, so the manifest never names a missing one.
  const uploaded: UploadResult[] = [];
  for (const t of tarballs) {
    uploaded.push(
      await uploadArtifact(store, {
        file: join(options.distDir, 'images', basename(t.key)),
        key: t.key,
        digest: { sha256: t.sha256, sizeBytes: t.sizeBytes },
        overwrite: options.overwrite ?? false,
        sidecar: options.sidecar ?? true,
        retry: policy(),
        log,
      }),
    );
  }
  for (const t of tarballs) await verifyUploaded(store, t, policy());

  // 2. Can the manifest be protected by compare-and-swap here at all?
  if (!(await storeEnforcesConditionalWrites(store, probeKey(manifestKey), policy()))) {
    const what = `${store.description} ignores conditional writes (an If-None-Match: * write over an existing key succeeded)`;
    if (options.requireConditionalWrites ?? true) {
      throw new StoreError(
        'invalid',
        `${what}: concurrent publishers could overwrite each other's slices; refusing to publish (set require-conditional-writes to false to publish anyway)`,
        { retryable: false },
      );
    }
    warn(`${what}: only the workflow's concurrency group protects ${manifestKey} now`);
  }

  // 3. Read, merge, compare-and-swap; on losing, re-read and merge again.
  let attempts = 0;
  let quoted = true;
  let lastProblem = '';
  for (;;) {
    if (attempts > 0 && clock() - started >= options.deadlineMs) {
      throw new StoreError(
        'conflict',
        `gave up merging slice ${formatSlice(slice)} into ${manifestKey} after ${attempts} attempts in ${Math.round((clock() - started) / 1000)} s: ${lastProblem}; the manifest is unchanged by this publish`,
        { retryable: false },
      );
    }
    attempts++;
    let current: Awaited<ReturnType<Store['getText']>>;
    try {
      current = await store.getText(manifestKey);
    } catch (error) {
      if (!(isStoreError(error) && error.retryable)) throw error;
      lastProblem = `the store kept failing (${error.message})`;
      await wait(backoffDelay(attempts, 100, 2_000, random));
      continue;
    }
    let baseline: Manifest | undefined;
    if (current) {
      baseline = parseManifest(current.text, `manifest ${manifestKey}`, { allowV1: true });
      const isV2 = (JSON.parse(current.text) as { schemaVersion?: unknown }).schemaVersion === 2;
      if (isV2 && sameSlice(slice, entries, baseline)) {
        log(`${manifestKey} already holds slice ${formatSlice(slice)}: not rewritten`);
        return {
          manifest: baseline,
          manifestEtag: current.head.etag,
          attempts,
          uploaded,
          outcome: 'unchanged',
          entries,
        };
      }
    } else if (!(slice.kind === 'full' || options.allowEmptyBaseline)) {
      throw new StoreError(
        'not_found',
        `${manifestKey} does not exist in ${store.description}: only slice full or allow-empty-baseline may create it`,
        { retryable: false },
      );
    }
    const manifest = mergeSlice(slice, entries, baseline, now());
    const text = serializeManifest(manifest);
    const etagSent = current
      ? quoted
        ? quoteEtag(current.head.etag)
        : unquoteEtag(current.head.etag)
      : undefined;
    try {
      const put = await store.put(manifestKey, text, {
        ...(etagSent !== undefined ? { ifMatch: etagSent } : { ifNoneMatch: '*' }),
        contentType: 'application/json',
        // Clients behind a CDN must never get a stale manifest.
        cacheControl: 'no-cache',
      });
      let etag = put.etag;
      if (!etag) etag = (await store.head(manifestKey))?.etag ?? '';
      log(
        `${current ? 'merged' : 'created'} ${manifestKey} with slice ${formatSlice(slice)} (attempt ${attempts})`,
      );
      return {
        manifest,
        manifestEtag: etag,
        attempts,
        uploaded,
        outcome: current ? 'merged' : 'created',
        entries,
      };
    } catch (error) {
      if (!isStoreError(error)) throw error;
      if (error.kind === 'precondition_failed' && current) {
        // RGW 16 compares If-Match with the unquoted ETag: a 412 while the ETag
        // is still the one we sent means the quoting, not a competing writer.
        const fresh = await store.head(manifestKey).catch(() => undefined);
        if (fresh && unquoteEtag(fresh.etag) === unquoteEtag(current.head.etag)) {
          quoted = !quoted;
          log(
            `${manifestKey}: If-Match ${etagSent} refused although the ETag is unchanged; retrying with the ETag ${quoted ? 'quoted' : 'unquoted'}`,
          );
          lastProblem = 'the store refused If-Match with both ETag quotings';
          continue;
        }
        lastProblem = 'other publishers kept changing the manifest (contention)';
      } else if (error.kind === 'precondition_failed') {
        lastProblem = 'another publisher created the manifest first (contention)';
      } else if (error.retryable) {
        lastProblem =
          error.kind === 'conflict'
            ? 'other publishers kept changing the manifest (contention)'
            : `the store kept failing (${error.message})`;
      } else throw error;
      const delay = backoffDelay(attempts, 100, 2_000, random);
      log(`${manifestKey}: attempt ${attempts} lost (${error.message}); re-reading in ${delay} ms`);
      await wait(Math.min(delay, remaining()));
    }
  }
}
