import { InputError } from '../command/errors.js';
import { optional, required } from '../command/inputs.js';
import type { InputReader } from '../command/types.js';
import { keyProblem } from '../manifest/keys.js';

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
