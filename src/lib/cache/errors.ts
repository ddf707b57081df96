/**
 * A failed transfer as a value: what kind of failure, and whether trying again
 * can help (5xx, 429, resets, timeouts) or cannot (404, a wrong sha256).
 */
export type TransferErrorKind = 'http' | 'network' | 'timeout' | 'truncated' | 'not-found';

export class TransferError extends Error {
  override name = 'TransferError';
  constructor(
    message: string,
    readonly kind: TransferErrorKind,
    readonly retryable: boolean,
    readonly url: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** HTTP statuses worth another attempt: the server or something in front of it is struggling. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export function isRetryable(error: unknown): boolean {
  return error instanceof TransferError && error.retryable;
}
