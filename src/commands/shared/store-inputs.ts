import { InputError } from '../../lib/command/errors.js';
import { integer, optional, required } from '../../lib/command/inputs.js';
import type { InputDef, InputReader } from '../../lib/command/types.js';
import { keyProblem } from '../../lib/manifest/keys.js';
import type { S3ClientConfig, StoreConfig } from '../../lib/store/config.js';
import { parseStoreUrl } from '../../lib/store/url.js';

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
  'session-token': {
    description:
      'Session token of temporary credentials (STS, or OIDC through aws-actions/configure-aws-credentials).',
    env: ['AWS_SESSION_TOKEN'],
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
  const sessionToken = optional(read, 'session-token');
  return {
    ...(endpoint ? { endpoint } : {}),
    region,
    accessKeyId,
    secretAccessKey,
    ...(sessionToken ? { sessionToken } : {}),
  };
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

/** A key input checked against the key rules before any request. */
export function keyInput(read: InputReader, name: string, fallback?: string): string {
  const key =
    fallback === undefined
      ? required(read, name, 'an object key like vm/images/x.tar.gz')
      : (optional(read, name) ?? fallback);
  const why = keyProblem(key);
  if (why) throw new InputError(`Input "${name}" breaks the key rules: "${key}" ${why}.`);
  return key;
}

export function sha256Input(read: InputReader, name: string): string | undefined {
  const value = optional(read, name);
  if (value !== undefined && !/^[0-9a-f]{64}$/.test(value)) {
    throw new InputError(`Input "${name}" must be 64 lowercase hex characters; got "${value}".`);
  }
  return value;
}
