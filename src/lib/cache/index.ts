/**
 * The cache hydration library: what the hydrate-cache action and CLI run, and
 * what applications embed to prefetch VM artifacts at start-up.
 */
export { isRetryable, TransferError, type TransferErrorKind } from './errors.js';
export { ARCH_CHOICES, type ArchChoice, resolveArches } from './plan.js';
export { ensureAvailable, isSyncing, prefetch } from './prefetch.js';
export { artifactUrl, type ManifestSource, parseManifestUrl } from './source.js';
export {
  DEFAULT_CONCURRENCY,
  MANIFEST_URL_ENV,
  type SyncOptions,
  type SyncProgress,
  type SyncResult,
  syncCache,
} from './sync.js';
export {
  DEFAULT_IDLE_TIMEOUT_MS,
  type FetchLike,
  fetchBytes,
  type RetryPolicy,
  type TransportOptions,
} from './transport.js';
export { INDEX_FILE } from './verified-index.js';
