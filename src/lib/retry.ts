/**
 * Retries with exponential backoff and full jitter. Only errors the caller
 * calls retryable are retried; the last error is rethrown with the attempt count.
 */
export interface RetryOptions {
  /** Total attempts, the first included. */
  attempts: number;
  baseMs?: number;
  maxMs?: number;
  /** Give up once this much time has passed since the first attempt. */
  deadlineMs?: number;
  isRetryable: (error: unknown) => boolean;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number,
): number {
  return Math.round(random() * Math.min(maxMs, baseMs * 2 ** (attempt - 1)));
}

export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const { attempts, baseMs = 200, maxMs = 10_000, isRetryable } = options;
  const wait = options.sleep ?? sleep;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const started = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const delay = backoffDelay(attempt, baseMs, maxMs, random);
      const outOfTime =
        options.deadlineMs !== undefined && now() - started + delay > options.deadlineMs;
      if (attempt >= attempts || outOfTime || !isRetryable(error)) throw error;
      options.onRetry?.(error, attempt, delay);
      await wait(delay);
    }
  }
}
