import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Digest } from './hash.js';

export interface Expected {
  sha256?: string;
  sizeBytes?: number;
}

export class VerifyError extends Error {
  override name = 'VerifyError';
}

export function partialPathOf(out: string): string {
  return `${out}.partial`;
}

/** A pass-through that hashes and counts what flows through it. */
export function digestStream(): Transform & { digest(): Digest; seed(chunk: Uint8Array): void } {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      callback(null, chunk);
    },
  });
  return Object.assign(stream, {
    digest: () => ({ sha256: hash.digest('hex'), sizeBytes }),
    /** Counts bytes already written elsewhere (a resumed transfer's prefix) without passing them on. */
    seed: (chunk: Uint8Array) => {
      hash.update(chunk);
      sizeBytes += chunk.length;
    },
  });
}

function checkDigest(what: string, actual: Digest, expected: Expected): void {
  if (expected.sizeBytes !== undefined && actual.sizeBytes !== expected.sizeBytes) {
    throw new VerifyError(
      `size mismatch for ${what}: expected ${expected.sizeBytes} bytes, got ${actual.sizeBytes}`,
    );
  }
  if (expected.sha256 !== undefined && actual.sha256 !== expected.sha256) {
    throw new VerifyError(
      `sha256 mismatch for ${what}: expected ${expected.sha256}, got ${actual.sha256}`,
    );
  }
}

export interface VerifiedWriteOptions {
  expected?: Expected;
  /** Names the artifact in mismatch messages (default: the output path). */
  label?: string;
  /**
   * Bytes already in `<out>.partial` from an interrupted transfer that `source`
   * continues (a Range resume); they are hashed first. Default: start afresh.
   */
  resumeFrom?: number;
}

/**
 * Streams `source` to `<out>.partial` while hashing, then renames it into place
 * only when the size and sha256 match what is expected. On any failure the
 * partial is removed (unless `keepPartial` for a later resume), so a reader
 * never sees a half-written or unverified file under the final name.
 */
export async function writeVerified(
  source: Readable | AsyncIterable<Uint8Array>,
  out: string,
  options: VerifiedWriteOptions & { keepPartialOnError?: boolean } = {},
): Promise<Digest> {
  const partial = partialPathOf(out);
  await mkdir(dirname(out), { recursive: true });
  const digest = digestStream();
  const resumeFrom = options.resumeFrom ?? 0;
  let ok = false;
  try {
    if (resumeFrom > 0) {
      // A partial can be longer than what was acknowledged (a write that landed after the cut).
      await truncate(partial, resumeFrom);
      for await (const chunk of createReadStream(partial, {
        end: resumeFrom - 1,
        highWaterMark: 1 << 20,
      })) {
        digest.seed(chunk as Buffer);
      }
    }
    await pipeline(
      source,
      digest,
      createWriteStream(partial, { flags: resumeFrom > 0 ? 'r+' : 'w', start: resumeFrom }),
    );
    const actual = digest.digest();
    checkDigest(options.label ?? out, actual, options.expected ?? {});
    await rename(partial, out);
    ok = true;
    return actual;
  } finally {
    if (!ok && !options.keepPartialOnError) await rm(partial, { force: true });
  }
}

/** The size of `<out>.partial` left by an interrupted transfer, or 0. */
export async function partialSize(out: string): Promise<number> {
  return stat(partialPathOf(out)).then(
    (s) => s.size,
    () => 0,
  );
}
