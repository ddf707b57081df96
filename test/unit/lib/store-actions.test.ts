import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import emitManifest from '../../../src/commands/emit-manifest.js';
import publish from '../../../src/commands/publish.js';
import type { Command } from '../../../src/lib/command/types.js';
import { ROOT } from '../../support/runner.js';

interface ActionInput {
  default?: string;
  required?: boolean;
}

describe.each([
  ['publish', publish],
  ['emit-manifest', emitManifest],
] as [string, Command<unknown>][])('actions/%s/action.yml', (name, command) => {
  it('declares exactly the command inputs, defaults and required flags', async () => {
    const meta = parse(await readFile(join(ROOT, 'actions', name, 'action.yml'), 'utf8')) as {
      inputs: Record<string, ActionInput>;
      outputs: Record<string, unknown>;
    };
    expect(Object.keys(meta.inputs)).toEqual(Object.keys(command.inputs));
    for (const [input, def] of Object.entries(command.inputs)) {
      expect([input, meta.inputs[input]?.default]).toEqual([input, def.default]);
      expect([input, meta.inputs[input]?.required ?? false]).toEqual([
        input,
        def.required ?? false,
      ]);
    }
    expect(Object.keys(meta.outputs)).toEqual(Object.keys(command.outputs));
  });

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
