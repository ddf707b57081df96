import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Command } from '../../src/lib/command/types.js';
import { ROOT } from '../support/runner.js';

interface ActionYml {
  inputs?: Record<string, { default?: unknown; required?: boolean }>;
  outputs?: Record<string, unknown>;
  runs: { using: string; main: string; post?: string };
}

const read = (path: string) => parse(readFileSync(join(ROOT, path), 'utf8')) as ActionYml;
// Composite actions wrap the CLI (test/unit/workflows.test.ts checks them).
const actions = readdirSync(join(ROOT, 'actions')).filter(
  (name) =>
    existsSync(join(ROOT, 'actions', name, 'action.yml')) &&
    read(join('actions', name, 'action.yml')).runs.using !== 'composite',
);
const cliSource = readFileSync(join(ROOT, 'src', 'cli.ts'), 'utf8');

/**
 * Every action is a thin shell over a command: its action.yml must declare exactly
 * the command's inputs (same defaults, same required), only outputs the command
 * sets, and run the action's own bundle. New actions are covered automatically.
 */
describe.each(actions)('actions/%s/action.yml', (name) => {
  const meta = read(join('actions', name, 'action.yml'));

  it('declares exactly the inputs of src/commands/<name>.ts', async () => {
    const command = (await import(join(ROOT, 'src', 'commands', `${name}.ts`))).default as Command;
    expect(command.name).toBe(name);
    const fromYml = Object.entries(meta.inputs ?? {}).map(([input, def]) => ({
      input,
      default: def.default === undefined ? undefined : String(def.default),
      required: def.required === true,
    }));
    const fromCommand = Object.entries(command.inputs).map(([input, def]) => ({
      input,
      default: def.default,
      required: def.required === true,
    }));
    const byName = (a: { input: string }, b: { input: string }) => a.input.localeCompare(b.input);
    expect(fromYml.sort(byName)).toEqual(fromCommand.sort(byName));
    for (const [input, def] of Object.entries(command.inputs)) {
      if (def.boolean && def.default !== undefined)
        expect(['true', 'false']).toContain(def.default);
      expect(input).toMatch(/^[a-z][a-z0-9-]*$/);
    }
  });

  it('only declares outputs the command sets', async () => {
    const command = (await import(join(ROOT, 'src', 'commands', `${name}.ts`))).default as Command;
    for (const output of Object.keys(meta.outputs ?? {})) {
      expect(Object.keys(command.outputs), `output "${output}"`).toContain(output);
    }
  });

  it('runs its own bundle on node24, built from src/actions', () => {
    expect(meta.runs.using).toBe('node24');
    expect(meta.runs.main).toBe(`../../dist/${name}/index.js`);
    expect(existsSync(join(ROOT, 'src', 'actions', `${name}.ts`))).toBe(true);
    if (meta.runs.post) {
      expect(meta.runs.post).toBe(`../../dist/${name}-post/index.js`);
      expect(existsSync(join(ROOT, 'src', 'actions', `${name}-post.ts`))).toBe(true);
    }
  });

  it('is a vm-tools CLI command too', () => {
    expect(cliSource).toContain(`from './commands/${name}.js'`);
  });
});

describe('root action.yml (setup)', () => {
  it('runs the setup bundle and outputs the version', () => {
    const meta = read('action.yml');
    expect(meta.runs).toEqual({ using: 'node24', main: 'dist/setup/index.js' });
    expect(Object.keys(meta.outputs ?? {})).toEqual(['version']);
    expect(meta.inputs).toBeUndefined();
  });

  it('covers at least the first action', () => {
    expect(actions).toContain('emit-manifest');
  });
});
