import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { checkAnnouncedSize, readCapped, SizeLimitError } from '../limits.js';
import { keyProblem } from '../manifest/keys.js';
import type { S3ClientConfig } from './config.js';
import { guardMultipartUpload } from './multipart-guard.js';
import {
  type ObjectHead,
  type PutFileOptions,
  type PutOptions,
  type Store,
  StoreError,
} from './types.js';

const MiB = 1024 * 1024;

/**
 * Parts of at least 8 MiB, growing so an object never needs more than ~1000 parts
 * (R2 and S3 cap at 10,000; fewer, larger parts cost fewer requests). R2 wants equal
 * part sizes, which lib-storage gives us.
 */
export function partSizeFor(sizeBytes: number): number {
  return Math.max(8 * MiB, Math.ceil(sizeBytes / 1000 / MiB) * MiB);
}

/**
 * One connection across a real network is capped (window / RTT, per-flow shaping),
 * so parts in flight multiply throughput, but each slot also idles between parts
 * (the server commits the part, a new request starts). Behind a proxy capping each
 * connection at 8 MiB/s (+20 ms per request) on a loaded 2-core machine, 4 in
 * flight reached 2.4-3.5x a single PutObject and 8 reached 3.4-5.3x (bench/store.mjs).
 * Costs 8 parts of memory: 64 MiB at the usual 8 MiB parts.
 */
export const PARTS_IN_FLIGHT = 8;

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ECONNABORTED',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
]);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** Maps an SDK/transport error to a StoreError kind. */
export function classifyS3Error(error: unknown, what: string): StoreError {
  if (error instanceof StoreError) return error;
  const e = (error ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? '';
  const detail = `${name || 'error'}${status ? ` (HTTP ${status})` : ''}${e.message && e.message !== name ? `: ${e.message}` : ''}`;
  const message = `${what}: ${detail}`;
  const opts = { status, cause: error };
  if (status === 412 || name === 'PreconditionFailed')
    return new StoreError('precondition_failed', message, opts);
  if (status === 409 || name === 'ConditionalRequestConflict')
    return new StoreError('conflict', message, opts);
  if (name === 'NoSuchBucket') return new StoreError('invalid', message, opts);
  if (status === 404 || name === 'NotFound' || name === 'NoSuchKey')
    return new StoreError('not_found', message, opts);
  if (
    status === 401 ||
    status === 403 ||
    ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied'].includes(name)
  )
    return new StoreError('auth', message, opts);
  if (
    status === 429 ||
    (status !== undefined && status >= 500) ||
    TRANSIENT_CODES.has(e.code ?? '') ||
    TRANSIENT_CODES.has(name) ||
    ['TimeoutError', 'RequestTimeout', 'SlowDown', 'AbortError'].includes(name) ||
    e.$retryable !== undefined ||
    /socket hang up|ECONNRESET|ECONNREFUSED|EPIPE|premature close|aborted/i.test(e.message ?? '')
  )
    return new StoreError('transient', message, opts);
  if (status !== undefined && status >= 400 && status < 500)
    return new StoreError('invalid', message, opts);
  return new StoreError('unknown', message, opts);
}

/**
 * The store checks every key itself rather than trusting callers: a key from a
 * manifest or an input that reached the SDK with `..` or a leading `/` would be
 * normalised by some S3-compatibles into a different object than the one named.
 * Refused before any request, and never retried.
 */
export function checkS3Key(key: string, what: string): void {
  const problem = keyProblem(key);
  if (problem)
    throw new StoreError('invalid', `${what}: invalid key ${JSON.stringify(key)}: it ${problem}`);
}

export interface S3StoreOptions extends S3ClientConfig {
  bucket: string;
  prefix: string;
  /** Attempts the SDK makes per request (our own retry wraps whole operations). */
  maxAttempts?: number;
  requestTimeoutMs?: number;
}

export class S3Store implements Store {
  readonly description: string;
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.description = `s3://${options.bucket}/${options.prefix}${options.endpoint ? ` at ${options.endpoint}` : ''}`;
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
      credentials: {
        accessKeyId: options.accessKeyId,
        secretAccessKey: options.secretAccessKey,
        ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}),
      },
      // R2 and other S3-compatibles reject or mangle the default CRC32 checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: options.maxAttempts ?? 3,
      requestHandler: {
        connectionTimeout: 10_000,
        requestTimeout: options.requestTimeoutMs ?? 120_000,
      },
    });
  }

  private fullKey(key: string): string {
    return `${this.prefix}${key}`;
  }

  private toHead(
    key: string,
    out: {
      ContentLength?: number | undefined;
      ETag?: string | undefined;
      Metadata?: Record<string, string> | undefined;
      ContentType?: string | undefined;
      CacheControl?: string | undefined;
    },
  ): ObjectHead {
    return {
      key,
      sizeBytes: out.ContentLength ?? 0,
      etag: out.ETag ?? '',
      metadata: out.Metadata ?? {},
      ...(out.ContentType ? { contentType: out.ContentType } : {}),
      ...(out.CacheControl ? { cacheControl: out.CacheControl } : {}),
    };
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    checkS3Key(key, 'HEAD');
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }),
      );
      return this.toHead(key, out);
    } catch (error) {
      const e = classifyS3Error(error, `HEAD ${key}`);
      if (e.kind === 'not_found') return undefined;
      throw e;
    }
  }

  async get(key: string): Promise<{ head: ObjectHead; body: Readable } | undefined> {
    checkS3Key(key, 'GET');
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }),
      );
      return { head: this.toHead(key, out), body: out.Body as Readable };
    } catch (error) {
      const e = classifyS3Error(error, `GET ${key}`);
      if (e.kind === 'not_found') return undefined;
      throw e;
    }
  }

  async getText(key: string): Promise<{ head: ObjectHead; text: string } | undefined> {
    checkS3Key(key, 'GET');
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.fullKey(key),
          ResponseCacheControl: 'no-cache',
        }),
      );
      const body = out.Body as Readable | undefined;
      const source = `${this.description.split(' at ')[0]}${key}`;
      let bytes: Buffer;
      try {
        // An announced oversize is refused before a byte of the body is read.
        checkAnnouncedSize(out.ContentLength, source);
        bytes = body ? await readCapped(body, source) : Buffer.alloc(0);
      } finally {
        // Stopping early must release the connection rather than leave it half-read.
        body?.destroy();
      }
      return { head: this.toHead(key, out), text: bytes.toString('utf8') };
    } catch (error) {
      if (error instanceof SizeLimitError)
        throw new StoreError('invalid', error.message, { retryable: false, cause: error });
      const e = classifyS3Error(error, `GET ${key}`);
      if (e.kind === 'not_found') return undefined;
      throw e;
    }
  }

  private putParams(key: string, options: PutOptions) {
    return {
      Bucket: this.bucket,
      Key: this.fullKey(key),
      ...(options.ifMatch !== undefined ? { IfMatch: options.ifMatch } : {}),
      ...(options.ifNoneMatch !== undefined ? { IfNoneMatch: options.ifNoneMatch } : {}),
      ...(options.metadata ? { Metadata: options.metadata } : {}),
      ...(options.contentType ? { ContentType: options.contentType } : {}),
      ...(options.cacheControl ? { CacheControl: options.cacheControl } : {}),
    };
  }

  async put(
    key: string,
    body: string | Uint8Array,
    options: PutOptions = {},
  ): Promise<{ etag: string }> {
    checkS3Key(key, 'PUT');
    try {
      const out = await this.client.send(
        new PutObjectCommand({ ...this.putParams(key, options), Body: body }),
      );
      return { etag: out.ETag ?? '' };
    } catch (error) {
      throw classifyS3Error(error, `PUT ${key}`);
    }
  }

  /** Multipart for files larger than one part (lib-storage aborts the upload on failure). */
  async putFile(key: string, path: string, options: PutFileOptions): Promise<{ etag: string }> {
    checkS3Key(key, 'upload');
    // lib-storage spreads these params into PutObject (one part) and into
    // CompleteMultipartUpload, so If-None-Match guards both. Measured: Ceph RGW 16
    // ignores it on CompleteMultipartUpload; callers verify the object afterwards.
    const upload = new Upload({
      client: this.client,
      params: {
        ...this.putParams(key, options),
        Body: createReadStream(path, { highWaterMark: MiB }),
        ContentLength: options.sizeBytes,
      },
      partSize: partSizeFor(options.sizeBytes),
      queueSize: PARTS_IN_FLIGHT,
      leavePartsOnError: false,
    });
    if (options.onProgress) {
      const onProgress = options.onProgress;
      upload.on('httpUploadProgress', (p) => onProgress(p.loaded ?? 0));
    }
    const unguard = guardMultipartUpload(this.client, upload, {
      bucket: this.bucket,
      key: this.fullKey(key),
    });
    try {
      const out = await upload.done();
      // RGW can return an empty ETag for a completed multipart upload.
      return { etag: ('ETag' in out ? out.ETag : undefined) ?? '' };
    } catch (error) {
      throw classifyS3Error(error, `upload ${key}`);
    } finally {
      unguard();
    }
  }

  /** A single PutObject of a whole file (benchmarks compare it with putFile). */
  async putFileSingle(
    key: string,
    path: string,
    options: PutFileOptions,
  ): Promise<{ etag: string }> {
    checkS3Key(key, 'PUT');
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          ...this.putParams(key, options),
          Body: createReadStream(path, { highWaterMark: MiB }),
          ContentLength: options.sizeBytes,
        }),
      );
      return { etag: out.ETag ?? '' };
    } catch (error) {
      throw classifyS3Error(error, `PUT ${key}`);
    }
  }

  async delete(key: string): Promise<void> {
    checkS3Key(key, 'DELETE');
    try {
      await this.client.send(
        new DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }),
      );
    } catch (error) {
      throw classifyS3Error(error, `DELETE ${key}`);
    }
  }
}
