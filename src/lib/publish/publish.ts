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
import { Backoff, type RetryPolicy } from '../retry.js';
import {
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
  /**
   * Bounds the manifest merge (probe, contention, transient errors) from the
   * moment it starts, and each artifact operation's transient retries on their
   * own: a long upload must not eat the time the merge needs.
   */
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
  /** Attempts lost because another publisher changed the manifest first. */
  lostToContention: number;
  uploaded: UploadResult[];
  /** created: this publish made the first manifest; unchanged: it already held the slice. */
  outcome: 'created' | 'merged' | 'unchanged';
  entries: Record<string, AgentEntry>;
}

/** Refusals of If-Match with an unchanged ETag before the store is called unfit. */
const MAX_QUOTING_REFUSALS = 6;

export function probeKey(manifestKey: string): string {
  const slash = manifestKey.lastIndexOf('/');
  return `${slash === -1 ? '' : manifestKey.slice(0, slash + 1)}.conditional-write-probe`;
}

/** What vm-tools has learnt about a store in this process. */
interface StoreHabits {
  /** How If-Match must quote the ETag here (RGW 16 compares it unquoted). */
  ifMatchQuoted?: boolean;
  /** The probe's verdict: undefined when conditional writes are enforced. */
  conditionalWriteGap?: string | undefined;
  probed?: boolean;
}

const habits = new WeakMap<Store, StoreHabits>();

function habitsOf(store: Store): StoreHabits {
  let known = habits.get(store);
  if (!known) {
    known = {};
    habits.set(store, known);
  }
  return known;
}

/** An ETag no object has: what a writer that lost a race still holds. */
const STALE_ETAG = '0123456789abcdef0123456789abcdef';

/**
 * Which conditional write the store ignores, or undefined when it enforces both
 * the compare-and-swap needs: `If-None-Match: *` on a key that exists, and
 * `If-Match` with a stale ETag, each of which must fail. Some S3-compatibles (and
 * proxies) drop one or both headers and would let concurrent publishers silently
 * overwrite each other. The stale ETag is tried in both quotings, since a store
 * may compare only one of them (RGW 16 compares the unquoted form).
 */
export async function findConditionalWriteGap(
  store: Store,
  key: string,
  policy: RetryPolicy,
): Promise<string | undefined> {
  const exists = await withStoreRetry(`HEAD ${key}`, () => store.head(key), policy);
  const body = 'probe\n';
  if (!exists) {
    await withStoreRetry(
      `PUT ${key}`,
      () => store.put(key, body, { contentType: 'text/plain' }),
      policy,
    );
  }
  const refused = async (what: string, condition: { ifMatch?: string; ifNoneMatch?: '*' }) => {
    try {
      await withStoreRetry(
        `PUT ${key} (${what} probe)`,
        () => store.put(key, body, { ...condition, contentType: 'text/plain' }),
        policy,
      );
      return false;
    } catch (error) {
      if (isStoreError(error, 'precondition_failed')) return true;
      throw error;
    }
  };
  if (!(await refused('If-None-Match', { ifNoneMatch: '*' }))) {
    return 'an If-None-Match: * write over an existing key succeeded';
  }
  for (const etag of [quoteEtag(STALE_ETAG), STALE_ETAG]) {
    if (!(await refused('If-Match', { ifMatch: etag }))) {
      return `a write with a stale If-Match (${etag}) succeeded`;
    }
  }
  return undefined;
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
  const now = options.now ?? (() => new Date());
  const known = habitsOf(store);
  const injected = {
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.random ? { random: options.random } : {}),
    ...(options.clock ? { now: options.clock } : {}),
  };
  // Each artifact operation gets the whole budget for its own transient retries;
  // per-request timeouts and attempt counts bound an upload that makes progress.
  const artifactPolicy: RetryPolicy = { deadlineMs: options.deadlineMs, log, ...injected };

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
        retry: artifactPolicy,
        log,
      }),
    );
  }
  // Also catches a racing writer a store let through (RGW 16 ignores
  // If-None-Match on CompleteMultipartUpload): the last writer's bytes are there.
  for (const t of tarballs) await verifyUploaded(store, t, artifactPolicy);

  // The merge's deadline starts here, not before the uploads.
  const merge = new Backoff(
    { deadlineMs: options.deadlineMs, ...injected },
    { baseMs: 100, maxMs: 2_000 },
  );
  const mergePolicy = (): RetryPolicy => ({
    deadlineMs: Math.max(1, merge.remainingMs()),
    log,
    ...injected,
  });

  // 2. Can the manifest be protected by compare-and-swap here at all?
  if (!known.probed) {
    known.conditionalWriteGap = await findConditionalWriteGap(
      store,
      probeKey(manifestKey),
      mergePolicy(),
    );
    known.probed = true;
  }
  if (known.conditionalWriteGap) {
    const what = `${store.description} ignores conditional writes (${known.conditionalWriteGap})`;
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
  let lostToContention = 0;
  let quotingRefusals = 0;
  let lastProblem = '';
  const backOff = async (why: string) => {
    const delay = merge.nextDelayWithinDeadline();
    if (delay === undefined) {
      throw new StoreError(
        'conflict',
        `gave up merging slice ${formatSlice(slice)} into ${manifestKey} after ${attempts} attempts in ${Math.round(merge.elapsedMs() / 1000)} s: ${lastProblem}; the manifest is unchanged by this publish`,
        { retryable: false },
      );
    }
    log(`${manifestKey}: attempt ${attempts} ${why}; re-reading in ${delay} ms`);
    await merge.sleep(delay);
  };
  for (;;) {
    attempts++;
    let current: Awaited<ReturnType<Store['getText']>>;
    try {
      current = await store.getText(manifestKey);
    } catch (error) {
      if (!(isStoreError(error) && error.retryable)) throw error;
      lastProblem = `the store kept failing (${error.message})`;
      await backOff(`failed to read (${error.message})`);
      continue;
    }
    let baseline: Manifest | undefined;
    if (current) {
      baseline = parseManifest(current.text, `manifest ${manifestKey}`, { allowV1: true });
    } else if (!(slice.kind === 'full' || options.allowEmptyBaseline)) {
      throw new StoreError(
        'not_found',
        `${manifestKey} does not exist in ${store.description}: only slice full or allow-empty-baseline may create it`,
        { retryable: false },
      );
    }
    const manifest = mergeSlice(slice, entries, baseline, now());
    if (current && baseline) {
      const isV2 = (JSON.parse(current.text) as { schemaVersion?: unknown }).schemaVersion === 2;
      if (isV2 && isDeepStrictEqual(manifest.agents, baseline.agents)) {
        log(`${manifestKey} already holds slice ${formatSlice(slice)}: not rewritten`);
        return {
          manifest: baseline,
          manifestEtag: current.head.etag,
          attempts,
          lostToContention,
          uploaded,
          outcome: 'unchanged',
          entries,
        };
      }
    }
    const text = serializeManifest(manifest);
    const quoted = known.ifMatchQuoted ?? true;
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
      if (etagSent !== undefined) known.ifMatchQuoted = quoted;
      let etag = put.etag;
      if (!etag) etag = (await store.head(manifestKey))?.etag ?? '';
      log(
        `${current ? 'merged' : 'created'} ${manifestKey} with slice ${formatSlice(slice)} (attempt ${attempts})`,
      );
      return {
        manifest,
        manifestEtag: etag,
        attempts,
        lostToContention,
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
          quotingRefusals++;
          known.ifMatchQuoted = !quoted;
          lastProblem = 'the store refused If-Match with both ETag quotings';
          if (quotingRefusals >= MAX_QUOTING_REFUSALS) {
            throw new StoreError(
              'invalid',
              `${store.description} refused If-Match on ${manifestKey} ${quotingRefusals} times in both ETag quotings although its ETag was unchanged: it cannot protect the manifest with compare-and-swap; the manifest is unchanged by this publish`,
              { retryable: false },
            );
          }
          const why = `If-Match ${etagSent} refused although the ETag is unchanged; retrying with the ETag ${quoted ? 'unquoted' : 'quoted'}`;
          // The first flip is the expected RGW case and costs one request; a
          // store refusing both forms must not be hammered.
          if (quotingRefusals === 1) log(`${manifestKey}: ${why}`);
          else await backOff(why);
          continue;
        }
        lastProblem = 'other publishers kept changing the manifest (contention)';
        lostToContention++;
        await backOff(`lost to another publisher (contention: ${error.message})`);
      } else if (error.kind === 'precondition_failed') {
        lastProblem = 'another publisher created the manifest first (contention)';
        lostToContention++;
        await backOff(`lost to another publisher (contention: ${error.message})`);
      } else if (error.kind === 'conflict') {
        lastProblem = 'other publishers kept changing the manifest (contention)';
        lostToContention++;
        await backOff(`lost to another publisher (contention: ${error.message})`);
      } else if (error.retryable) {
        lastProblem = `the store kept failing (${error.message})`;
        await backOff(`failed (${error.message})`);
      } else throw error;
    }
  }
}
