import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import emitManifest from '../../../src/commands/emit-manifest.js';
import { runCli } from '../../../src/lib/command/cli.js';
import { baselineSourceProblem, readBaseline } from '../../../src/lib/manifest/baseline.js';
import { NOW, releaseWorkspace } from '../../support/release.js';

describe('merge-from schemes', () => {
  it.each([
    'baseline.json',
    './dir/manifest.json',
    '/abs/manifest.json',
    'file:///abs/manifest.json',
    'http://127.0.0.1:8080/vm/manifest.json',
    'https://cdn.example/vm/manifest.json?X-Amz-Signature=abc',
    's3://bucket/vm/manifest.json',
  ])('accepts %s', (value) => {
    expect(baselineSourceProblem(value)).toBeUndefined();
  });

  it.each([
    ['htps://cdn.example/vm/manifest.json', 'has the unknown scheme "htps://"'],
    ['s4://bucket/vm/manifest.json', 'has the unknown scheme "s4://"'],
    ['ftp://host/manifest.json', 'has the unknown scheme "ftp://"'],
    ['HTTPS://cdn.example/vm/manifest.json', 'has the unknown scheme "HTTPS://"'],
    ['https:/cdn.example/vm/manifest.json', 'is not a https:// URL'],
    ['s3:bucket/vm/manifest.json', 'is not a s3:// URL'],
  ])('refuses %s', (value, why) => {
    expect(baselineSourceProblem(value)).toBe(why);
  });

  it('readBaseline refuses a typo even when an empty baseline is allowed', async () => {
    await expect(
      readBaseline('htps://cdn.example/vm/manifest.json', { allowEmpty: true }),
    ).rejects.toThrow(/unknown scheme "htps:\/\/"/);
  });

  it('emit-manifest names the input, the value and what is accepted, and writes nothing', async () => {
    const dir = await releaseWorkspace();
    const out = { stdout: '', stderr: '' };
    const code = await runCli(
      emitManifest,
      [
        '--slice',
        'agents:openclaw',
        '--merge-from',
        'htps://cdn.example/vm/manifest.json',
        '--allow-empty-baseline',
        '--now',
        NOW,
      ],
      {
        stdout: (t) => {
          out.stdout += t;
        },
        stderr: (t) => {
          out.stderr += t;
        },
        env: {},
        cwd: dir,
      },
    );
    expect(code).toBe(2);
    expect(out.stderr).toBe(
      'error: Input "merge-from" must be a file path, a file:// URL, an http(s):// URL or s3://BUCKET/KEY; got "htps://cdn.example/vm/manifest.json", which has the unknown scheme "htps://".\n',
    );
    expect(out.stdout).toBe('');
    expect((await readdir(join(dir, 'dist'))).sort()).toEqual(['images']);
  });
});
