import type { S3ClientConfig, StoreConfig } from './config.js';
import { FileStore } from './file.js';
import type { Store } from './types.js';
import { parseObjectUrl } from './url.js';

export interface OpenOptions {
  /** SDK attempts per request; our retries wrap whole operations. */
  maxAttempts?: number;
  requestTimeoutMs?: number;
}

/** Opens a store; the AWS SDK is loaded only when an s3:// store is used. */
export async function openStore(config: StoreConfig, options: OpenOptions = {}): Promise<Store> {
  if (config.kind === 'file') return new FileStore(config.dir);
  const { S3Store } = await import('./s3.js');
  return new S3Store({ ...config, ...options });
}

/** Reads an `s3://bucket/key` object's text through the configured client (merge baselines). */
export function s3ObjectReader(client: S3ClientConfig) {
  return async (url: string): Promise<string | undefined> => {
    const { bucket, key } = parseObjectUrl(url);
    const store = await openStore({ kind: 's3', bucket, prefix: '', ...client });
    return (await store.getText(key))?.text;
  };
}
