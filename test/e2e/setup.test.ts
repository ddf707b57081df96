import { spawnSync } from 'node:child_process';
import { access, constants, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/release.js';
import { ROOT, runActionBundle } from '../support/runner.js';

const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('setup action (root action.yml, built bundle)', () => {
  it('puts a vm-tools launcher on PATH that runs the bundled CLI', async () => {
    const runnerTemp = await tempDir('vm-tools-runner-temp-');
    const run = await runActionBundle('setup', {
      actionYml: join(ROOT, 'action.yml'),
      env: { RUNNER_TEMP: runnerTemp },
    });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toEqual({ version: pkg.version });
    const binDir = join(runnerTemp, 'vm-tools', 'bin');
    expect(run.path).toEqual([binDir]);
    await access(join(binDir, 'vm-tools'), constants.X_OK);

    // A later `run:` step: PATH now starts with the launcher's directory.
    const later = spawnSync('vm-tools', ['--version'], {
      env: { ...process.env, PATH: `${binDir}:${process.env.PATH}` },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(later.stderr).toBe('');
    expect(later.status).toBe(0);
    expect(later.stdout).toBe(`${pkg.version}\n`);

    const help = spawnSync('vm-tools', ['emit-manifest', '--help'], {
      env: { ...process.env, PATH: `${binDir}:${process.env.PATH}` },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: vm-tools emit-manifest [flags]');
  });

  it('the launcher runs the CLI with the Node that ran the setup step', async () => {
    const runnerTemp = await tempDir('vm-tools-runner-temp-');
    await runActionBundle('setup', {
      actionYml: join(ROOT, 'action.yml'),
      env: { RUNNER_TEMP: runnerTemp },
    });
    const launcher = await readFile(join(runnerTemp, 'vm-tools', 'bin', 'vm-tools'), 'utf8');
    expect(launcher).toBe(
      `#!/bin/sh\nexec '${process.execPath}' '${join(ROOT, 'dist', 'cli', 'index.js')}' "$@"\n`,
    );
  });
});
