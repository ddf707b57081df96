import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runActionBundle } from '../support/runner.js';

async function workspace() {
  const dir = await mkdtemp(join(tmpdir(), 'vm-tools-emit-e2e-'));
  await writeFile(
    join(dir, 'bundle.json'),
    JSON.stringify({
      agents: [{ name: 'openclaw', image: 'ghcr.io/openclaw/openclaw', version: '2026.4.12' }],
    }),
  );
  await mkdir(join(dir, 'dist', 'images'), { recursive: true });
  await writeFile(join(dir, 'dist', 'images', 'openclaw-2026.4.12-arm64.tar.gz'), 'a'.repeat(201));
  await writeFile(join(dir, 'dist', 'images', 'openclaw-2026.4.12-x64.tar.gz'), 'b'.repeat(202));
  return dir;
}

describe('emit-manifest action (built bundle)', () => {
  it('writes the manifest, its outputs and a summary table of the slice', async () => {
    const dir = await workspace();
    const run = await runActionBundle('emit-manifest', {
      cwd: dir,
      inputs: { now: '2026-04-22T00:00:00.000Z' },
    });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.outputs.manifest).toBe(join(dir, 'dist', 'manifest.json'));
    expect(run.outputs.agents).toBe('["openclaw"]');
    const text = await readFile(join(dir, 'dist', 'manifest.json'), 'utf8');
    expect(JSON.parse(text).agents.openclaw.tarballs.x64.sizeBytes).toBe(202);
    expect(run.summary).toContain('<th>Agent</th>');
    expect(run.summary).toContain('vm/images/openclaw-2026.4.12-arm64.tar.gz');
  });

  it('fails a bad input with ::error:: naming it, and writes no file', async () => {
    const dir = await workspace();
    const run = await runActionBundle('emit-manifest', {
      cwd: dir,
      inputs: { 'allow-empty-baseline': 'yes' },
    });
    expect(run.exitCode).toBe(1);
    expect(run.errors).toEqual(['Input "allow-empty-baseline" must be true or false; got "yes".']);
    expect(await readdir(join(dir, 'dist'))).toEqual(['images']);
  });
});
