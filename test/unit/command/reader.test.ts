import { describe, expect, it } from 'vitest';
import { makeReader, secretValues } from '../../../src/lib/command/reader.js';
import { defineCommand } from '../../../src/lib/command/types.js';

const command = defineCommand({
  name: 'demo',
  description: 'A command for reader tests.',
  inputs: {
    region: { description: 'Region.', env: ['AWS_REGION', 'AWS_DEFAULT_REGION'], default: 'auto' },
    'secret-access-key': { description: 'Key.', env: ['AWS_SECRET_ACCESS_KEY'], secret: true },
    token: { description: 'Token.', secret: true },
    plain: { description: 'Plain.' },
  },
  outputs: {},
  parse: () => ({}),
  run: async () => ({ outputs: {} }),
});

describe('makeReader', () => {
  it('prefers the given value, then env fallbacks in order, then the default', () => {
    const env = { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-east-1' };
    expect(makeReader(command, () => 'ap-south-1', env)('region')).toBe('ap-south-1');
    expect(makeReader(command, () => undefined, env)('region')).toBe('eu-west-1');
    expect(makeReader(command, () => '  ', env)('region')).toBe('eu-west-1');
    expect(makeReader(command, () => '', { AWS_DEFAULT_REGION: 'us-east-1' })('region')).toBe(
      'us-east-1',
    );
    expect(
      makeReader(command, () => '', { AWS_REGION: ' ', AWS_DEFAULT_REGION: '' })('region'),
    ).toBe('auto');
    expect(makeReader(command, () => undefined, {})('plain')).toBeUndefined();
  });

  it('refuses to read an input the command did not declare', () => {
    expect(() => makeReader(command, () => 'x', {})('nope')).toThrow(
      'command demo reads undeclared input "nope"',
    );
  });
});

describe('secretValues', () => {
  it('collects every secret a command could read, from inputs and env fallbacks', () => {
    const raw = (name: string) => ({ token: ' t0k3n ', plain: 'visible' })[name];
    expect(secretValues(command, raw, { AWS_SECRET_ACCESS_KEY: 'abc', AWS_REGION: 'x' })).toEqual([
      'abc',
      't0k3n',
    ]);
    expect(secretValues(command, () => undefined, {})).toEqual([]);
  });
});
