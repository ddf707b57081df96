import { describe, expect, it } from 'vitest';
import emitManifest from '../../../src/commands/emit-manifest.js';
import publish from '../../../src/commands/publish.js';
import type { Command } from '../../../src/lib/command/types.js';

describe.each([
  ['publish', publish],
  ['emit-manifest', emitManifest],
] as [string, Command<unknown>][])('%s store inputs', (_name, command) => {
  it('credentials are secret and fall back to the AWS variables', () => {
    expect(command.inputs['access-key-id']).toMatchObject({
      secret: true,
      env: ['AWS_ACCESS_KEY_ID'],
    });
    expect(command.inputs['secret-access-key']).toMatchObject({
      secret: true,
      env: ['AWS_SECRET_ACCESS_KEY'],
    });
    // A declared default would reach the command as a value and hide the env fallback.
    for (const input of ['endpoint', 'region', 'access-key-id', 'secret-access-key'])
      expect(command.inputs[input]?.default).toBeUndefined();
  });
});
