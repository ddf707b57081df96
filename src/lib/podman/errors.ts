/** What went wrong at the podman boundary, independent of the transport. */
export type PodmanErrorKind =
  | 'not_found'
  | 'conflict'
  | 'timeout'
  | 'permission_denied'
  | 'transport_unavailable'
  | 'command_failed'
  | 'api_error';

const RETRYABLE: Record<PodmanErrorKind, boolean> = {
  not_found: false,
  conflict: false,
  timeout: true,
  permission_denied: false,
  transport_unavailable: true,
  command_failed: false,
  api_error: false,
};

export class PodmanError extends Error {
  override name = 'PodmanError';
  readonly kind: PodmanErrorKind;
  readonly retryable: boolean;
  /** The HTTP status (API) or exit code (CLI), when there was one. */
  readonly status?: number;

  constructor(
    kind: PodmanErrorKind,
    message: string,
    options: { status?: number; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.status = options.status;
    // A 503 from the service (still starting, overloaded) is worth another try.
    this.retryable = options.retryable ?? RETRYABLE[kind];
  }
}

export function isPodmanError(error: unknown, kind?: PodmanErrorKind): error is PodmanError {
  return error instanceof PodmanError && (kind === undefined || error.kind === kind);
}

/** Maps podman's CLI stderr (exit code 125 and friends) to a kind. */
export function kindOfCliFailure(stderr: string): PodmanErrorKind {
  const text = stderr.toLowerCase();
  if (/no such (image|container|object)|image not known|not found|no container with/.test(text))
    return 'not_found';
  if (/already in use|is in use|conflict|already exists/.test(text)) return 'conflict';
  if (/permission denied|operation not permitted/.test(text)) return 'permission_denied';
  if (/cannot connect to podman|connection refused|no such file or directory.*sock/.test(text))
    return 'transport_unavailable';
  return 'command_failed';
}

/** Maps a libpod API status to a kind. */
export function kindOfStatus(status: number): PodmanErrorKind {
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 401 || status === 403) return 'permission_denied';
  return 'api_error';
}
