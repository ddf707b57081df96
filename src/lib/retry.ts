/**
 * The one backoff of the codebase: exponential with full jitter, bounded by an
 * attempt count and a deadline. `retry` wraps an operation whose errors say
 * whether another try can help; `Backoff` serves loops that decide that
 * themselves (the manifest compare-and-swap, waiting for a lock).
 */
export interface RetryPolicy {
  /** Total attempts, the first included. */
  attempts?: number;
  baseMs?: number;
  maxMs?: number;
  /** Give up once this much time has passed since the first attempt. */
  deadlineMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  /** Where a caller's retry messages go. */
  log?: (message: string) => void;
}

export interface RetryOptions extends RetryPolicy {
  attempts: number;
  isRetryable: (error: unknown) => boolean;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
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

/**
 * A backoff schedule started now. Each `nextDelay()` is the jittered wait after
 * one more failed attempt, or undefined when the attempts or the time are used up.
 */
export class Backoff {
  private failures = 0;
  private readonly started: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly pause: (ms: number) => Promise<void>;
  private readonly baseMs: number;
  private readonly maxMs: number;

  // No parameter properties: lock.ts (and so this file) also runs under plain
  // type stripping in a child process of the lock test.
  private readonly policy: RetryPolicy;

  constructor(
    policy: RetryPolicy,
    defaults: { baseMs: number; maxMs: number } = { baseMs: 200, maxMs: 10_000 },
  ) {
    this.policy = policy;
    this.now = policy.now ?? Date.now;
    this.random = policy.random ?? Math.random;
    this.pause = policy.sleep ?? sleep;
    this.baseMs = policy.baseMs ?? defaults.baseMs;
    this.maxMs = policy.maxMs ?? defaults.maxMs;
    this.started = this.now();
  }

  /** Failed attempts so far. */
  get attempts(): number {
    return this.failures;
  }

  elapsedMs(): number {
    return this.now() - this.started;
  }

  /** Time left before the deadline (Infinity without one). */
  remainingMs(): number {
    const { deadlineMs } = this.policy;
    return deadlineMs === undefined ? Number.POSITIVE_INFINITY : deadlineMs - this.elapsedMs();
  }

  /** Records a failed attempt; the wait before the next one, or undefined to give up. */
  nextDelay(): number | undefined {
    this.failures++;
    const delay = backoffDelay(this.failures, this.baseMs, this.maxMs, this.random);
    if (this.failures >= (this.policy.attempts ?? Number.POSITIVE_INFINITY)) return undefined;
    if (delay > this.remainingMs()) return undefined;
    return delay;
  }

  /**
   * For loops bounded by time alone: the wait after one more failure, cut so the
   * last try happens at the deadline; undefined once the deadline has passed.
   */
  nextDelayWithinDeadline(): number | undefined {
    const delay = this.nextDelay();
    const remaining = this.remainingMs();
    if (remaining <= 0) return undefined;
    return Math.min(delay ?? remaining, remaining);
  }

  sleep(ms: number): Promise<void> {
    return this.pause(ms);
  }
}

export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const backoff = new Backoff(options);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const delay = backoff.nextDelay();
      if (delay === undefined || !options.isRetryable(error)) throw error;
      options.onRetry?.(error, attempt, delay);
      await backoff.sleep(delay);
    }
  }
}
