import { basename } from 'node:path';
import type { Digest } from '../fs/hash.js';
import { sidecarLine } from '../fs/hash.js';
import { writeVerified } from '../fs/verified-write.js';
import { basename as keyBasename } from '../manifest/keys.js';
import { formatBytes, throttledProgress } from '../progress.js';
import { type RetryPolicy, retry } from '../retry.js';
import { contentTypeFor } from './content-type.js';
import { isStoreError, type ObjectHead, type Store, StoreError } from './types.js';

/** Retries an operation while the store says its errors are transient. */
export function withStoreRetry<T>(
  what: string,
  fn: () => Promise<T>,
  policy: RetryPolicy,
): Promise<T> {
  return retry(fn, {
    attempts: policy.attempts ?? 10,
    baseMs: policy.baseMs ?? 250,
    maxMs: policy.maxMs ?? 5_000,
    ...(policy.deadlineMs !== undefined ? { deadlineMs: policy.deadlineMs } : {}),
    isRetryable: (error) => isStoreError(error) && error.retryable,
    ...(policy.sleep ? { sleep: policy.sleep } : {}),
    ...(policy.random ? { random: policy.random } : {}),
    ...(policy.now ? { now: policy.now } : {}),
    onRetry: (error, attempt, delay) =>
      policy.log?.(
        `${what}: attempt ${attempt} failed (${(error as Error).message}); retrying in ${delay} ms`,
      ),
  }).catch((error: unknown) => {
    if (isStoreError(error) && error.retryable) {
      throw new StoreError(error.kind, `${what} failed after retries: ${error.message}`, {
        retryable: false,
        ...(error.status !== undefined ? { status: error.status } : {}),
        cause: error,
      });
    }
    throw error;
  });
}

export interface UploadResult {
  key: string;
  sha256: string;
  sizeBytes: number;
  /** The key already held this exact content. */
  skipped: boolean;
}

export interface UploadOptions {
  file: string;
  key: string;
  digest: Digest;
  contentType?: string;
  sidecar?: boolean;
  overwrite?: boolean;
  retry: RetryPolicy;
  log?: (message: string) => void;
}

function sidecarKey(key: string): string {
  return `${key}.sha256`;
}

function refuseDifferent(key: string, existing: ObjectHead, digest: Digest): StoreError {
  return new StoreError(
    'precondition_failed',
    `refusing to overwrite ${key} with different content (it holds ${existing.metadata.sha256 ?? 'an object without sha256 metadata'}, ${existing.sizeBytes} bytes; this is ${digest.sha256}, ${digest.sizeBytes} bytes); pass overwrite to replace it`,
    { retryable: false },
  );
}

function holds(head: ObjectHead, digest: Digest): boolean {
  return head.metadata.sha256 === digest.sha256 && head.sizeBytes === digest.sizeBytes;
}

/**
 * Uploads one artifact with its sha256 as metadata. Idempotent: the same content
 * already there is skipped; different content under the key is refused unless
 * `overwrite` (released keys are immutable). The HEAD first only saves the
 * upload; what makes the key immutable is the `If-None-Match: *` on the write
 * itself, so of two publishers racing different bytes onto one key only one lands.
 */
export async function uploadArtifact(store: Store, options: UploadOptions): Promise<UploadResult> {
  const { key, digest, retry: policy } = options;
  const log = options.log ?? (() => {});
  const existing = await withStoreRetry(`HEAD ${key}`, () => store.head(key), policy);
  let skipped = false;
  if (existing) {
    if (holds(existing, digest)) skipped = true;
    else if (!options.overwrite) throw refuseDifferent(key, existing, digest);
  }
  if (!skipped) {
    const progress = throttledProgress(log);
    try {
      await withStoreRetry(
        `upload ${key}`,
        () =>
          store.putFile(key, options.file, {
            sizeBytes: digest.sizeBytes,
            metadata: { sha256: digest.sha256 },
            contentType: options.contentType ?? contentTypeFor(key),
            ...(options.overwrite ? {} : { ifNoneMatch: '*' as const }),
            onProgress: (loaded) =>
              progress.update(
                `uploading ${key}: ${formatBytes(loaded)} of ${formatBytes(digest.sizeBytes)}`,
              ),
          }),
        policy,
      );
      log(`uploaded ${key} (${formatBytes(digest.sizeBytes)}, sha256 ${digest.sha256})`);
    } catch (error) {
      if (!isStoreError(error, 'precondition_failed')) throw error;
      // Someone wrote the key between our HEAD and our write (or a retried write
      // of ours had landed): the same bytes are fine, different ones are not.
      const winner = await withStoreRetry(`HEAD ${key}`, () => store.head(key), policy);
      if (!winner) throw error;
      if (!holds(winner, digest)) throw refuseDifferent(key, winner, digest);
      skipped = true;
      log(
        `skipped ${key}: it held this content by the time our write landed (another writer, or an earlier try of ours; sha256 ${digest.sha256})`,
      );
    }
  } else {
    log(`skipped ${key}: it already holds this content (sha256 ${digest.sha256})`);
  }
  if (options.sidecar) {
    const line = sidecarLine(digest.sha256, keyBasename(key) || basename(options.file));
    const current = await withStoreRetry(
      `GET ${sidecarKey(key)}`,
      () => store.getText(sidecarKey(key)),
      policy,
    );
    if (current?.text !== line) {
      await withStoreRetry(
        `PUT ${sidecarKey(key)}`,
        () => store.put(sidecarKey(key), line, { contentType: contentTypeFor(sidecarKey(key)) }),
        policy,
      );
    }
  }
  return { key, sha256: digest.sha256, sizeBytes: digest.sizeBytes, skipped };
}

/** Confirms an uploaded object is what was uploaded (size and sha256 metadata). */
export async function verifyUploaded(
  store: Store,
  expected: { key: string; sha256: string; sizeBytes: number },
  policy: RetryPolicy,
): Promise<void> {
  const head = await withStoreRetry(`HEAD ${expected.key}`, () => store.head(expected.key), policy);
  if (!head)
    throw new StoreError(
      'not_found',
      `verification failed: ${expected.key} is missing after upload`,
    );
  if (head.sizeBytes !== expected.sizeBytes || head.metadata.sha256 !== expected.sha256) {
    throw new StoreError(
      'invalid',
      `verification failed for ${expected.key}: the store has ${head.sizeBytes} bytes with sha256 ${head.metadata.sha256 ?? '(none)'}, expected ${expected.sizeBytes} bytes with sha256 ${expected.sha256}`,
    );
  }
}

export interface DownloadOptions {
  key: string;
  out: string;
  /** Expected sha256; default: the object's sha256 metadata, when it has one. */
  sha256?: string;
  retry: RetryPolicy;
  log?: (message: string) => void;
}

/** Streams an object to `<out>.partial`, verifies it, renames it into place. */
export async function downloadObject(store: Store, options: DownloadOptions): Promise<Digest> {
  const { key, out } = options;
  return withStoreRetry(
    `download ${key}`,
    async () => {
      const object = await store.get(key);
      if (!object)
        throw new StoreError('not_found', `${key} does not exist in ${store.description}`);
      const sha256 = options.sha256 ?? object.head.metadata.sha256;
      try {
        return await writeVerified(object.body, out, {
          label: key,
          expected: { sizeBytes: object.head.sizeBytes, ...(sha256 ? { sha256 } : {}) },
        });
      } catch (error) {
        if ((error as Error).name === 'VerifyError') throw error;
        // A connection cut mid-body is worth another try.
        throw new StoreError('transient', `download ${key}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    },
    options.retry,
  );
}
