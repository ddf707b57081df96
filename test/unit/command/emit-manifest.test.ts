import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import command, { parseNow, parseSliceInput } from '../../../src/commands/emit-manifest.js';
import { parseArches } from '../../../src/commands/shared/slice-inputs.js';
import { runCli } from '../../../src/lib/command/cli.js';
import { InputError } from '../../../src/lib/command/errors.js';
import { CODER, NOW, OPENCLAW, releaseWorkspace } from '../../support/release.js';

async function emit(cwd: string, argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(command, argv, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: {},
    cwd,
  });
  return { code, stdout, stderr };
}

describe('emit-manifest inputs', () => {
  it('now must be ISO-8601 UTC, a real instant', () => {
    expect(parseNow(undefined)).toBeUndefined();
    expect(parseNow(NOW)?.toISOString()).toBe(NOW);
    expect(parseNow('2026-04-22T10:11:12Z')?.toISOString()).toBe('2026-04-22T10:11:12.000Z');
    for (const bad of [
      'yesterday',
      '2026-04-22',
      '2026-04-22T00:00:00',
      '2026-04-22T00:00:00+02:00',
      '2026-02-30T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-04-22T24:00:00Z',
      '1776816000',
    ]) {
      expect(() => parseNow(bad), bad).toThrow(
        new InputError(
          `Input "now" must be an ISO-8601 UTC time like 2026-04-22T00:00:00.000Z; got "${bad}".`,
        ),
      );
    }
  });

  it('arches come from the release arches, without repeats', () => {
    expect(parseArches([])).toEqual(['arm64', 'x64']);
    expect(parseArches(['x64', 'x64'])).toEqual(['x64']);
    expect(() => parseArches(['x64', 'amd64'])).toThrow(
      new InputError('Input "arches" must list arches from arm64, x64; got "amd64".'),
    );
  });

  it('slice rules that need no file are input errors', () => {
    expect(parseSliceInput('full', undefined)).toEqual({ kind: 'full' });
    expect(parseSliceInput('agents:a', 'm.json')).toEqual({ kind: 'agent', name: 'a' });
    expect(() => parseSliceInput('vm', 'm.json')).toThrow(new InputError('unknown slice: vm'));
    expect(() => parseSliceInput('agents:a', undefined)).toThrow(
      new InputError('--slice agents:a requires --merge-from'),
    );
  });
});

describe('vm-tools emit-manifest (in process)', () => {
  it('writes the manifest and prints its outputs', async () => {
    const dir = await releaseWorkspace([OPENCLAW, CODER]);
    const r = await emit(dir, ['--now', NOW, '--out', 'out/m.json']);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    const text = await readFile(join(dir, 'out', 'm.json'), 'utf8');
    const { createHash } = await import('node:crypto');
    expect(r.stdout).toBe(
      [
        `manifest=${join(dir, 'out', 'm.json')}`,
        `sha256=${createHash('sha256').update(text).digest('hex')}`,
        'agents=["coder","openclaw"]',
        '',
      ].join('\n'),
    );
    expect(r.stderr).toContain('== Manifest slice full');
  });

  it('warns about a legacy vmVersion in the bundle', async () => {
    const dir = await releaseWorkspace([OPENCLAW], { extra: { vmVersion: '1' } });
    const r = await emit(dir, ['--now', NOW]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `warning: ${join(dir, 'bundle.json')}: the legacy "vmVersion" field is ignored`,
    );
  });

  it.each([
    [
      ['--slice', 'agents:ghost', '--merge-from', 'nowhere.json'],
      'unknown agent in slice: ghost',
      2,
    ],
    [['--slice', 'vm'], 'unknown slice: vm', 2],
  ])('refuses %j before reading any baseline or writing anything', async (argv, message, code) => {
    const dir = await releaseWorkspace([OPENCLAW]);
    const r = await emit(dir, argv);
    expect(r).toEqual({ code, stdout: '', stderr: `error: ${message}\n` });
    expect(await readdir(join(dir, 'dist'))).toEqual(['images']);
  });

  it('leaves no file behind when a tarball is missing', async () => {
    const dir = await releaseWorkspace([OPENCLAW], { tarballs: false });
    const r = await emit(dir, ['--now', NOW]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: missing tarball inputs for openclaw/arm64: ${join(dir, 'dist', 'images', 'openclaw-2026.4.12-arm64.tar.gz')}\n`,
    );
    expect(await readdir(join(dir, 'dist'))).toEqual(['images']);
  });
});
