import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { partialPathOf, partialSize, VerifyError, writeVerified } from '../fs/verified-write.js';
import {
  checkAnnouncedSize,
  downloadDeadlineMs,
  formatLimitMs,
  readCapped,
  SizeLimitError,
} from '../limits.js';
import { type RetryPolicy, retry } from '../retry.js';
import { isRetryable, isRetryableStatus, TransferError } from './errors.js';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

// One policy type for every retry; here `attempts` counts per request (default 5).
export type { RetryPolicy };

export interface TransportOptions {
  fetch?: FetchLike;
  /**
   * How long to wait for response headers and then for each read of the body.
   * A server that stops sending (or trickles a slowloris stream) fails after
   * this much silence instead of hanging the job.
   */
  idleTimeoutMs?: number;
  retry?: RetryPolicy;
  /**
   * The overall limit on one artifact's download, retries included, from its
   * size (default: downloadDeadlineMs, a floor plus the size at a crawl). The
   * idle timeout alone lets a server that sends a byte every few seconds hold
   * the job forever; this does not.
   */
  downloadDeadlineMs?: (sizeBytes: number) => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  onRetry?: (message: string) => void;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

function describeCause(error: unknown): string {
  const cause = (error as { cause?: unknown })?.cause;
  const inner = cause instanceof Error ? cause.message : undefined;
  const outer = error instanceof Error ? error.message : String(error);
  return inner && inner !== outer ? `${outer} (${inner})` : outer;
}

type Body = AsyncIterableIterator<Uint8Array> & {
  return(): Promise<IteratorResult<Uint8Array>>;
};

interface Opened {
  status: number;
  headers: Headers;
  body: Body;
}

/**
 * One HTTP request whose headers and every body read are bounded by the idle
 * timeout; failures become TransferErrors that say whether a retry can help.
 */
async function openHttp(
  url: string,
  headers: Record<string, string>,
  options: TransportOptions,
  deadline?: AbortSignal,
): Promise<Opened> {
  const doFetch = options.fetch ?? fetch;
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const controller = new AbortController();
  let timedOut = false;
  const arm = () =>
    setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, idleMs);
  if (deadline?.aborted) throw deadline.reason;
  // The deadline's reason is its own TransferError, which wins over the abort it causes.
  deadline?.addEventListener('abort', () => controller.abort(), { once: true });
  const fail = (error: unknown) =>
    deadline?.aborted
      ? (deadline.reason as TransferError)
      : timedOut
        ? new TransferError(
            `timed out after ${idleMs} ms waiting for data from ${url}`,
            'timeout',
            true,
            url,
          )
        : new TransferError(
            `GET ${url} failed: ${describeCause(error)}`,
            'network',
            true,
            url,
            undefined,
            {
              cause: error,
            },
          );
  let timer = arm();
  let response: Response;
  try {
    response = await doFetch(url, { headers, signal: controller.signal, redirect: 'follow' });
  } catch (error) {
    throw fail(error);
  } finally {
    clearTimeout(timer);
  }
  // Node's adapter over the web stream, and a plain iterator rather than another
  // generator: each per-chunk layer here showed up as whole seconds per GiB.
  const readable = response.body
    ? Readable.fromWeb(response.body as import('node:stream/web').ReadableStream)
    : Readable.from([]);
  const inner = readable[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  const body: Body = {
    async next() {
      timer = arm();
      try {
        return await inner.next();
      } catch (error) {
        throw fail(error);
      } finally {
        clearTimeout(timer);
      }
    },
    // Stopping early (an error downstream) must close the connection, not leak it.
    async return() {
      readable.destroy();
      controller.abort();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return { status: response.status, headers: response.headers, body };
}

function httpError(url: string, status: number, statusText: string): TransferError {
  return new TransferError(
    `GET ${url} failed: HTTP ${status}${statusText ? ` ${statusText}` : ''}`,
    status === 404 ? 'not-found' : 'http',
    isRetryableStatus(status),
    url,
    status,
  );
}

const STATUS_TEXT: Record<number, string> = {
  404: 'Not Found',
  403: 'Forbidden',
  416: 'Range Not Satisfiable',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function retryOptions(options: TransportOptions, what: string) {
  return {
    attempts: options.retry?.attempts ?? 5,
    baseMs: options.retry?.baseMs ?? 500,
    maxMs: options.retry?.maxMs ?? 10_000,
    isRetryable,
    sleep: options.sleep,
    random: options.random,
    now: options.now,
    onRetry: (error: unknown, attempt: number, delayMs: number) =>
      options.onRetry?.(
        `${what}: attempt ${attempt} failed (${(error as Error).message}); retrying in ${delayMs} ms`,
      ),
  };
}

function fileError(url: string, error: unknown): TransferError {
  const code = (error as NodeJS.ErrnoException).code;
  return new TransferError(
    `read ${url} failed: ${(error as Error).message}`,
    code === 'ENOENT' ? 'not-found' : 'network',
    false,
    url,
  );
}

/**
 * The bytes of a small document (the manifest), with retries, never more than
 * MAX_DOCUMENT_BYTES: a server that sends an endless body fails at the cap.
 */
export async function fetchBytes(url: string, options: TransportOptions = {}): Promise<Buffer> {
  const source = `manifest ${url}`;
  if (url.startsWith('file:')) {
    const path = fileURLToPath(url);
    try {
      checkAnnouncedSize((await stat(path)).size, source);
      return await readCapped(createReadStream(path, { highWaterMark: 1 << 20 }), source);
    } catch (error) {
      if (error instanceof SizeLimitError) throw error;
      throw fileError(url, error);
    }
  }
  return retry(
    async () => {
      const opened = await openHttp(url, {}, options);
      if (opened.status < 200 || opened.status > 299) {
        await opened.body.return();
        throw httpError(url, opened.status, STATUS_TEXT[opened.status] ?? '');
      }
      const length = opened.headers.get('content-length');
      try {
        checkAnnouncedSize(length === null ? undefined : Number(length), source);
        return await readCapped(opened.body, source);
      } finally {
        await opened.body.return();
      }
    },
    retryOptions(options, url),
  );
}

export interface DownloadRequest {
  url: string;
  out: string;
  key: string;
  sha256: string;
  sizeBytes: number;
  onBytes?: (n: number) => void;
}

/**
 * Caps what a server may send at the size the manifest promises (a lying or
 * hostile server cannot fill the disk). A transient interruption (reset,
 * timeout, early end) is recorded and the stream ends cleanly instead of
 * failing: a failing pipeline discards writes still queued, while a clean end
 * flushes every received byte to the partial, which the next attempt resumes.
 */
async function* bounded(
  source: AsyncIterable<Uint8Array>,
  req: DownloadRequest,
  already: number,
  interruption: { error?: unknown },
): AsyncGenerator<Uint8Array> {
  let total = already;
  try {
    for await (const chunk of source) {
      total += chunk.length;
      if (total > req.sizeBytes) {
        throw new VerifyError(
          `size mismatch for ${req.key}: expected ${req.sizeBytes} bytes, ${req.url} sent more`,
        );
      }
      req.onBytes?.(chunk.length);
      yield chunk;
    }
  } catch (error) {
    if (!isRetryable(error)) throw error;
    interruption.error = error;
  }
  if (interruption.error) return;
  if (total < req.sizeBytes) {
    interruption.error = new TransferError(
      `${req.url} ended after ${total} of ${req.sizeBytes} bytes`,
      'truncated',
      true,
      req.url,
    );
  }
}

/** writeVerified over a bounded source; an interruption wins over the size mismatch it causes. */
async function writeBounded(
  source: AsyncIterable<Uint8Array>,
  req: DownloadRequest,
  from: number,
): Promise<void> {
  const interruption: { error?: unknown } = {};
  try {
    await writeVerified(bounded(source, req, from, interruption), req.out, {
      expected: { sha256: req.sha256, sizeBytes: req.sizeBytes },
      label: req.key,
      resumeFrom: from,
      keepPartialOnError: true,
    });
  } catch (error) {
    throw interruption.error ?? error;
  }
}

function contentRangeStart(headers: Headers): number | undefined {
  const m = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(headers.get('content-range') ?? '');
  return m ? Number(m[1]) : undefined;
}

async function attemptHttp(
  req: DownloadRequest,
  resumeFrom: number,
  validator: { etag?: string },
  options: TransportOptions,
  deadline: AbortSignal,
): Promise<void> {
  const headers: Record<string, string> = {};
  if (resumeFrom > 0) {
    headers.range = `bytes=${resumeFrom}-`;
    // Without a validator the server could splice a newer object onto our prefix.
    if (validator.etag) headers['if-range'] = validator.etag;
  }
  const opened = await openHttp(req.url, headers, options, deadline);
  let from = 0;
  if (opened.status === 206 && resumeFrom > 0 && contentRangeStart(opened.headers) === resumeFrom) {
    from = resumeFrom;
  } else if (opened.status === 416) {
    await opened.body.return();
    await rm(partialPathOf(req.out), { force: true });
    throw new TransferError(
      `GET ${req.url} failed: HTTP 416 Range Not Satisfiable`,
      'http',
      true,
      req.url,
      416,
    );
  } else if (opened.status !== 200) {
    await opened.body.return();
    throw httpError(req.url, opened.status, STATUS_TEXT[opened.status] ?? '');
  }
  const etag = opened.headers.get('etag');
  // Weak validators cannot guard a byte-range splice (RFC 9110 13.1.5).
  validator.etag = etag && !etag.startsWith('W/') ? etag : undefined;
  const length = opened.headers.get('content-length');
  if (length !== null && from + Number(length) !== req.sizeBytes) {
    await opened.body.return();
    throw new VerifyError(
      `size mismatch for ${req.key}: expected ${req.sizeBytes} bytes, ${req.url} sends ${from + Number(length)}`,
    );
  }
  await writeBounded(opened.body, req, from);
}

async function attemptFile(req: DownloadRequest, resumeFrom: number): Promise<void> {
  const path = fileURLToPath(req.url);
  const source = createReadStream(path, { start: resumeFrom, highWaterMark: 1 << 20 });
  const opened = await new Promise<void>((resolve, reject) => {
    source.once('open', () => resolve());
    source.once('error', reject);
  }).then(
    () => undefined,
    (error) => error,
  );
  if (opened) throw fileError(req.url, opened);
  await writeBounded(source, req, resumeFrom);
}

/**
 * Downloads one artifact to `<out>.partial`, hashing while it writes, and
 * renames it into place once size and sha256 match. Transient failures are
 * retried; a retry after an interrupted body asks for the rest with `Range`
 * (a server without range support answers 200 and the download restarts).
 * Whatever happens, no `.partial` is left behind when this rejects.
 */
export async function downloadVerified(
  request: DownloadRequest,
  options: TransportOptions = {},
): Promise<void> {
  let receivedBytes = 0;
  const req: DownloadRequest = {
    ...request,
    onBytes: (n) => {
      receivedBytes += n;
      request.onBytes?.(n);
    },
  };
  const partial = partialPathOf(req.out);
  await rm(partial, { force: true });
  const validator: { etag?: string } = {};
  const deadlineMs = (options.downloadDeadlineMs ?? downloadDeadlineMs)(req.sizeBytes);
  const deadline = new AbortController();
  const timer = setTimeout(
    () =>
      deadline.abort(
        new TransferError(
          `download of ${req.key} from ${req.url} exceeded its deadline of ${formatLimitMs(deadlineMs)} (${receivedBytes} of ${req.sizeBytes} bytes received)`,
          'timeout',
          false,
          req.url,
        ),
      ),
    deadlineMs,
  );
  try {
    await retry(
      async (attempt) => {
        const have = attempt === 1 ? 0 : await partialSize(req.out);
        const resumeFrom = have > 0 && have < req.sizeBytes ? have : 0;
        try {
          if (req.url.startsWith('file:')) await attemptFile(req, resumeFrom);
          else await attemptHttp(req, resumeFrom, validator, options, deadline.signal);
        } catch (error) {
          if (error instanceof VerifyError && resumeFrom > 0) {
            // The prefix we kept may belong to an older object: start over once more.
            await rm(partial, { force: true });
            throw new TransferError(
              `${error.message} (after resuming at byte ${resumeFrom})`,
              'truncated',
              true,
              req.url,
            );
          }
          if (!isRetryable(error)) await rm(partial, { force: true });
          throw error;
        }
      },
      { ...retryOptions(options, req.url), deadlineMs },
    );
  } catch (error) {
    // An attempt that failed as the deadline struck reports the deadline, not its symptom.
    throw deadline.signal.aborted ? deadline.signal.reason : error;
  } finally {
    clearTimeout(timer);
    await rm(partial, { force: true });
  }
}
