/** A bad input: reported as one sentence, before any side effect. */
export class InputError extends Error {
  override name = 'InputError';
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
