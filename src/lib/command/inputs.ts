import { InputError } from './errors.js';
import type { InputReader } from './types.js';

/**
 * Typed readers over raw inputs. Every failure is one sentence that names the
 * input, the bad value and what is accepted.
 */

export function optional(read: InputReader, name: string): string | undefined {
  const value = read(name)?.trim();
  return value ? value : undefined;
}

export function required(read: InputReader, name: string, accepted: string): string {
  const value = optional(read, name);
  if (value === undefined) throw new InputError(`Input "${name}" is required: ${accepted}.`);
  return value;
}

export function oneOf<T extends string>(
  read: InputReader,
  name: string,
  allowed: readonly T[],
  fallback?: T,
): T {
  const value = optional(read, name) ?? fallback;
  if (value === undefined)
    throw new InputError(`Input "${name}" is required: one of ${allowed.join(', ')}.`);
  if (!(allowed as readonly string[]).includes(value)) {
    throw new InputError(`Input "${name}" must be one of ${allowed.join(', ')}; got "${value}".`);
  }
  return value as T;
}

const TRUE = ['true', 'True', 'TRUE'];
const FALSE = ['false', 'False', 'FALSE'];

/** The YAML 1.2 core-schema booleans, like `core.getBooleanInput`. */
export function boolean(read: InputReader, name: string, fallback = false): boolean {
  const value = optional(read, name);
  if (value === undefined) return fallback;
  if (TRUE.includes(value)) return true;
  if (FALSE.includes(value)) return false;
  throw new InputError(`Input "${name}" must be true or false; got "${value}".`);
}

export function integer(
  read: InputReader,
  name: string,
  { min, max, fallback }: { min: number; max: number; fallback: number },
): number {
  const value = optional(read, name);
  if (value === undefined) return fallback;
  const n = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new InputError(
      `Input "${name}" must be an integer from ${min} to ${max}; got "${value}".`,
    );
  }
  return n;
}

/** One value per non-empty line (also accepts a JSON array of strings). */
export function list(read: InputReader, name: string): string[] {
  const value = optional(read, name);
  if (value === undefined) return [];
  if (value.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new InputError(
        `Input "${name}" must be a JSON array of strings or one value per line; got "${value}".`,
      );
    }
    if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string')) {
      throw new InputError(
        `Input "${name}" must be a JSON array of strings or one value per line; got "${value}".`,
      );
    }
    return parsed;
  }
  return value
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}
