import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keyProblem } from '../manifest/keys.js';

export type StoreLocation =
  | { kind: 's3'; bucket: string; prefix: string }
  | { kind: 'file'; dir: string };

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Why a bucket name is not one S3, R2 and RGW all accept, or undefined. */
function bucketProblem(bucket: string): string | undefined {
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    return `"${bucket}" is not a bucket name (3-63 characters of a-z, 0-9, "." and "-")`;
  }
  return undefined;
}

/**
 * Parses `s3://BUCKET[/PREFIX]` or `file:///DIR`. Throws one sentence saying
 * what is wrong; the caller names the input.
 */
export function parseStoreUrl(value: string): StoreLocation {
  if (value.startsWith('s3://')) {
    const rest = value.slice('s3://'.length).replace(/\/+$/, '');
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    const prefix = slash === -1 ? '' : rest.slice(slash + 1);
    if (bucket === '') throw new Error(`names no bucket (expected s3://BUCKET[/PREFIX])`);
    const problem = bucketProblem(bucket);
    if (problem) throw new Error(`has a bad bucket: ${problem}`);
    if (prefix !== '') {
      const why = keyProblem(prefix);
      if (why) throw new Error(`has a bad prefix "${prefix}": it ${why}`);
    }
    return { kind: 's3', bucket, prefix: prefix === '' ? '' : `${prefix}/` };
  }
  if (value.startsWith('file://')) {
    let dir: string;
    try {
      dir = fileURLToPath(value);
    } catch {
      throw new Error('is not a file:///ABSOLUTE/DIR URL');
    }
    if (!isAbsolute(dir)) throw new Error('is not a file:///ABSOLUTE/DIR URL');
    return { kind: 'file', dir };
  }
  throw new Error('is not a store URL (expected s3://BUCKET[/PREFIX] or file:///DIR)');
}

/** Splits an `s3://bucket/key` object URL (merge baselines). */
export function parseObjectUrl(value: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]*)\/(.*)$/.exec(value);
  const bucket = match?.[1] ?? '';
  const key = match?.[2] ?? '';
  if (!match || bucket === '' || key === '')
    throw new Error(`"${value}" is not an s3://BUCKET/KEY object URL`);
  const problem = bucketProblem(bucket);
  if (problem) throw new Error(`"${value}" has a bad bucket: ${problem}`);
  const why = keyProblem(key);
  if (why) throw new Error(`invalid key "${key}": ${why}`);
  return { bucket, key };
}
