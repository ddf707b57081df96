import { InputError } from '../command/errors.js';
import { integer, optional } from '../command/inputs.js';
import type { InputDef, InputReader } from '../command/types.js';
import { parseStoreUrl } from './url.js';

/**
 * The inputs every bucket-touching command shares. Credentials and endpoint have
 * no declared default so their AWS_* environment fallbacks are reachable (a
 * runner passes an action.yml default as a value, which would hide them).
 */
export const S3_CLIENT_INPUTS = {
  endpoint: {
    description:
      'S3 endpoint URL (R2: https://<account>.r2.cloudflarestorage.com); empty for AWS S3.',
    env: ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'],
  },
  region: {
    description: 'Region (default: auto, as R2 wants; an AWS region for AWS S3).',
    env: ['AWS_REGION', 'AWS_DEFAULT_REGION'],
  },
  'access-key-id': {
    description: 'Access key id.',
    env: ['AWS_ACCESS_KEY_ID'],
    secret: true,
  },
  'secret-access-key': {
    description: 'Secret access key.',
    env: ['AWS_SECRET_ACCESS_KEY'],
    secret: true,
  },
} satisfies Record<string, InputDef>;

export const STORE_INPUTS = {
  store: { description: 'Object store: s3://BUCKET[/PREFIX] or file:///DIR.', required: true },
  ...S3_CLIENT_INPUTS,
  'timeout-seconds': {
    description: 'Give up retrying transient store errors (and manifest contention) after this.',
    default: '300',
  },
} satisfies Record<string, InputDef>;

export interface S3ClientConfig {
  endpoint?: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export type StoreConfig =
  | ({ kind: 's3'; bucket: string; prefix: string } & S3ClientConfig)
  | { kind: 'file'; dir: string };

export function parseS3Client(read: InputReader): S3ClientConfig {
  const endpoint = optional(read, 'endpoint');
  const region = optional(read, 'region') ?? 'auto';
  if (endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {}
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.username || url.password) {
      throw new InputError(
        `Input "endpoint" must be an http(s):// URL without credentials; got "${endpoint}".`,
      );
    }
  } else if (region === 'auto') {
    throw new InputError(
      'Input "endpoint" is required for an s3:// store with region auto (R2): pass it or set AWS_ENDPOINT_URL_S3 (or set region to an AWS region for AWS S3).',
    );
  }
  const accessKeyId = optional(read, 'access-key-id');
  if (accessKeyId === undefined) {
    throw new InputError(
      'Input "access-key-id" is required for an s3:// store: pass it or set AWS_ACCESS_KEY_ID.',
    );
  }
  const secretAccessKey = optional(read, 'secret-access-key');
  if (secretAccessKey === undefined) {
    throw new InputError(
      'Input "secret-access-key" is required for an s3:// store: pass it or set AWS_SECRET_ACCESS_KEY.',
    );
  }
  return { ...(endpoint ? { endpoint } : {}), region, accessKeyId, secretAccessKey };
}

export function parseStoreConfig(read: InputReader): StoreConfig {
  const value = optional(read, 'store');
  if (value === undefined) {
    throw new InputError('Input "store" is required: s3://BUCKET[/PREFIX] or file:///DIR.');
  }
  let location: ReturnType<typeof parseStoreUrl>;
  try {
    location = parseStoreUrl(value);
  } catch (error) {
    throw new InputError(`Input "store" ${(error as Error).message}; got "${value}".`);
  }
  if (location.kind === 'file') return location;
  return { ...location, ...parseS3Client(read) };
}

export function parseTimeoutMs(read: InputReader): number {
  return integer(read, 'timeout-seconds', { min: 1, max: 86_400, fallback: 300 }) * 1000;
}
