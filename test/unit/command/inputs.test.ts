import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/lib/command/errors.js';
import {
  boolean,
  integer,
  list,
  oneOf,
  optional,
  required,
} from '../../../src/lib/command/inputs.js';
import type { InputReader } from '../../../src/lib/command/types.js';

const reader =
  (values: Record<string, string | undefined>): InputReader =>
  (name) =>
    values[name];

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error('expected an InputError');
}

describe('typed input readers', () => {
  it('optional trims and treats blank as absent', () => {
    const read = reader({ a: '  x  ', b: '   ', c: '' });
    expect(optional(read, 'a')).toBe('x');
    expect(optional(read, 'b')).toBeUndefined();
    expect(optional(read, 'c')).toBeUndefined();
    expect(optional(read, 'd')).toBeUndefined();
  });

  it('required names the input and what is accepted', () => {
    expect(required(reader({ file: 'a.tar' }), 'file', 'a path')).toBe('a.tar');
    expect(
      inputError(() => required(reader({ file: ' ' }), 'file', 'the tarball path')).message,
    ).toBe('Input "file" is required: the tarball path.');
  });

  it('oneOf accepts listed values, applies a fallback, names the bad value', () => {
    const arches = ['arm64', 'x64'] as const;
    expect(oneOf(reader({ arch: 'x64' }), 'arch', arches)).toBe('x64');
    expect(oneOf(reader({}), 'arch', arches, 'arm64')).toBe('arm64');
    expect(inputError(() => oneOf(reader({ arch: 'arm' }), 'arch', arches)).message).toBe(
      'Input "arch" must be one of arm64, x64; got "arm".',
    );
    expect(inputError(() => oneOf(reader({}), 'arch', arches)).message).toBe(
      'Input "arch" is required: one of arm64, x64.',
    );
  });

  it('boolean takes the YAML 1.2 core booleans only', () => {
    for (const t of ['true', 'True', 'TRUE', ' true '])
      expect(boolean(reader({ b: t }), 'b')).toBe(true);
    for (const f of ['false', 'False', 'FALSE'])
      expect(boolean(reader({ b: f }), 'b', true)).toBe(false);
    expect(boolean(reader({}), 'b')).toBe(false);
    expect(boolean(reader({}), 'b', true)).toBe(true);
    for (const bad of ['yes', '1', 'on', 'tRue']) {
      expect(inputError(() => boolean(reader({ b: bad }), 'b')).message).toBe(
        `Input "b" must be true or false; got "${bad}".`,
      );
    }
  });

  it('integer checks digits and bounds', () => {
    const opts = { min: 1, max: 16, fallback: 4 };
    expect(integer(reader({ n: '16' }), 'n', opts)).toBe(16);
    expect(integer(reader({ n: '1' }), 'n', opts)).toBe(1);
    expect(integer(reader({}), 'n', opts)).toBe(4);
    expect(integer(reader({ n: '-3' }), 'n', { min: -5, max: 0, fallback: 0 })).toBe(-3);
    for (const bad of ['0', '17', '1.5', '0x10', '1e3', 'four', '99999999999999999999']) {
      expect(inputError(() => integer(reader({ n: bad }), 'n', opts)).message).toBe(
        `Input "n" must be an integer from 1 to 16; got "${bad}".`,
      );
    }
  });

  it('list takes one value per line or a JSON array of strings', () => {
    expect(list(reader({ l: 'a\n  b \r\n\n c' }), 'l')).toEqual(['a', 'b', 'c']);
    expect(list(reader({ l: '["a", "b c"]' }), 'l')).toEqual(['a', 'b c']);
    expect(list(reader({}), 'l')).toEqual([]);
    for (const bad of ['[1, 2]', '["a",', '[null]']) {
      expect(inputError(() => list(reader({ l: bad }), 'l')).message).toBe(
        `Input "l" must be a JSON array of strings or one value per line; got "${bad}".`,
      );
    }
  });
});
