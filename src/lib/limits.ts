/**
 * Bounds on sizes and times that come from outside (a server, a bucket, a
 * container): none of them may exhaust memory or hold a job forever.
 */

export const MiB = 1024 * 1024;

/**
 * The most a manifest or merge baseline may weigh. A real manifest is a few KiB
 * per agent; 16 MiB leaves room for thousands of agents and still fits in memory
 * twice over (bytes, then the parsed text).
 */
export const MAX_DOCUMENT_BYTES = 16 * MiB;

/** How much of a podman command's or container's output is kept: the last 1 MiB. */
export const OUTPUT_TAIL_BYTES = 1 * MiB;

/** How much of a podman command's stderr is kept for its error message. */
export const STDERR_TAIL_BYTES = 64 * 1024;

/** Default limit on podman pull / load / build, which can hang on a stuck registry or disk. */
export const DEFAULT_PODMAN_LONG_OP_TIMEOUT_MS = 60 * 60_000;

/** After SIGTERM, how long podman gets to clean up before SIGKILL. */
export const PODMAN_KILL_GRACE_MS = 10_000;

/**
 * Every artifact download gets at least this long in total, retries included,
 * plus the time its size takes at DOWNLOAD_MIN_BYTES_PER_SECOND: a server that
 * trickles a byte now and then (never idle long enough for the idle timeout)
 * still cannot hold the job forever.
 */
export const DOWNLOAD_DEADLINE_FLOOR_MS = 10 * 60_000;

/** 256 KiB/s: far below any CI runner's link, so only a stalling server hits the deadline. */
export const DOWNLOAD_MIN_BYTES_PER_SECOND = 256 * 1024;

/** The overall deadline for downloading `sizeBytes`. */
export function downloadDeadlineMs(
  sizeBytes: number,
  floorMs = DOWNLOAD_DEADLINE_FLOOR_MS,
  minBytesPerSecond = DOWNLOAD_MIN_BYTES_PER_SECOND,
): number {
  return floorMs + Math.ceil((sizeBytes / minBytesPerSecond) * 1000);
}

/** `16 MiB`, `1.5 GiB`, `300 bytes`: limits in messages. */
export function formatLimitBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/** `90 s`, `60 min`: durations in messages. */
export function formatLimitMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000 || ms % 60_000 !== 0) return `${Math.round(ms / 100) / 10} s`;
  return `${ms / 60_000} min`;
}

const DOCUMENT_LIMIT_FOR = 'a manifest or baseline';

/** A document bigger than its cap: not worth retrying, the source is wrong. */
export class SizeLimitError extends Error {
  override name = 'SizeLimitError';
  readonly kind = 'too_large';
  readonly retryable = false;
  constructor(
    /** What was being read, e.g. `manifest https://…/vm/manifest.json`. */
    readonly source: string,
    readonly limitBytes: number,
    /** The size the source announced, when it did. */
    announcedBytes?: number,
    limitFor = DOCUMENT_LIMIT_FOR,
  ) {
    super(
      `${source} is larger than ${formatLimitBytes(limitBytes)}${announcedBytes === undefined ? '' : ` (${announcedBytes} bytes)`}, the limit for ${limitFor}: refusing to read it`,
    );
  }
}

/**
 * Reads a whole document from `body`, but never more than `limitBytes`: past
 * the cap it stops reading (closing the source) and throws a SizeLimitError, so
 * an endless or hostile stream costs at most the cap in memory.
 */
export async function readCapped(
  body: AsyncIterable<Uint8Array>,
  source: string,
  limitBytes = MAX_DOCUMENT_BYTES,
  limitFor = DOCUMENT_LIMIT_FOR,
): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > limitBytes) throw new SizeLimitError(source, limitBytes, undefined, limitFor);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/** Fails at once when the source announces (Content-Length, file size) more than the cap. */
export function checkAnnouncedSize(
  announced: number | undefined,
  source: string,
  limitBytes = MAX_DOCUMENT_BYTES,
): void {
  if (announced !== undefined && Number.isFinite(announced) && announced > limitBytes) {
    throw new SizeLimitError(source, limitBytes, announced);
  }
}
