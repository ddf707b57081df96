import type { Readable } from 'node:stream';

/**
 * What an object store can do for vm-tools: enough for immutable artifacts plus
 * one compare-and-swap document (the manifest). Keys are logical keys; a store
 * applies its own prefix.
 */

export type StoreErrorKind =
  | 'not_found'
  | 'precondition_failed'
  | 'conflict'
  | 'transient'
  | 'auth'
  | 'invalid'
  | 'unknown';

/** An error at the store boundary, as a value the callers can branch on. */
export class StoreError extends Error {
  override name = 'StoreError';
  readonly kind: StoreErrorKind;
  readonly retryable: boolean;
  readonly status: number | undefined;
  constructor(
    kind: StoreErrorKind,
    message: string,
    options: { retryable?: boolean; status?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.status = options.status;
    // Someone else winning a compare-and-swap is worth another try; so is a blip.
    this.retryable =
      options.retryable ?? (kind === 'transient' || kind === 'conflict' || kind === 'unknown');
  }
}

export function isStoreError(error: unknown, kind?: StoreErrorKind): error is StoreError {
  return error instanceof StoreError && (kind === undefined || error.kind === kind);
}

export interface ObjectHead {
  key: string;
  sizeBytes: number;
  /** As the store reports it (normally quoted; see unquoteEtag). */
  etag: string;
  metadata: Record<string, string>;
  contentType?: string;
  cacheControl?: string;
}

export interface PutOptions {
  /** Write only if the current ETag is this one. */
  ifMatch?: string;
  /** Write only if the key does not exist. */
  ifNoneMatch?: '*';
  metadata?: Record<string, string>;
  contentType?: string;
  cacheControl?: string;
}

export interface PutFileOptions extends PutOptions {
  sizeBytes: number;
  onProgress?: (loadedBytes: number) => void;
}

export interface Store {
  /** Where the store is, for messages (never includes credentials). */
  readonly description: string;
  head(key: string): Promise<ObjectHead | undefined>;
  get(key: string): Promise<{ head: ObjectHead; body: Readable } | undefined>;
  getText(key: string): Promise<{ head: ObjectHead; text: string } | undefined>;
  put(key: string, body: string | Uint8Array, options?: PutOptions): Promise<{ etag: string }>;
  putFile(key: string, path: string, options: PutFileOptions): Promise<{ etag: string }>;
  delete(key: string): Promise<void>;
}

export function unquoteEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

export function quoteEtag(etag: string): string {
  return `"${unquoteEtag(etag)}"`;
}
