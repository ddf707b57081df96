import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runActionBundle } from '../support/runner.js';

const SECRET = 'sEcReT-value-that-must-never-print-0123456789';

async function workspace() {
  const dir = await mkdtemp(join(tmpdir(), 'vm-tools-publish-e2e-'));
  await writeFile(
    join(dir, 'bundle.json'),
    JSON.stringify({
      agents: [{ name: 'openclaw', image: 'ghcr.io/openclaw/openclaw', version: '2026.4.12' }],
    }),
  );
  await mkdir(join(dir, 'dist', 'images'), { recursive: true });
  await writeFile(join(dir, 'dist', 'images', 'openclaw-2026.4.12-arm64.tar.gz'), 'a'.repeat(201));
  await writeFile(join(dir, 'dist', 'images', 'openclaw-2026.4.12-x64.tar.zst'), 'b'.repeat(202));
  const store = await mkdtemp(join(tmpdir(), 'vm-tools-publish-store-'));
  return { dir, store, url: pathToFileURL(store).href };
}

describe('publish action (built bundle)', () => {
  it('publishes to a file:// store: outputs, summary, the manifest and sidecars', async () => {
    const ws = await workspace();
    const run = await runActionBundle('publish', {
      cwd: ws.dir,
      inputs: { slice: 'full', store: ws.url, 'secret-access-key': SECRET },
    });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    const manifestText = await readFile(join(ws.store, 'vm', 'manifest.json'), 'utf8');
    const { createHash } = await import('node:crypto');
    expect(run.outputs['manifest-etag']).toBe(
      `"${createHash('sha256').update(manifestText).digest('hex')}"`,
    );
    expect(run.outputs.attempts).toBe('1');
    const uploaded = JSON.parse(run.outputs.uploaded ?? '');
    expect(uploaded).toEqual([
      {
        key: 'vm/images/openclaw-2026.4.12-arm64.tar.gz',
        sha256: createHash('sha256').update('a'.repeat(201)).digest('hex'),
        sizeBytes: 201,
        skipped: false,
      },
      {
        key: 'vm/images/openclaw-2026.4.12-x64.tar.zst',
        sha256: createHash('sha256').update('b'.repeat(202)).digest('hex'),
        sizeBytes: 202,
        skipped: false,
      },
    ]);
    const manifest = JSON.parse(manifestText);
    expect(manifest.agents.openclaw.tarballs.x64.key).toBe(
      'vm/images/openclaw-2026.4.12-x64.tar.zst',
    );
    expect((await readdir(join(ws.store, 'vm', 'images'))).sort()).toEqual([
      'openclaw-2026.4.12-arm64.tar.gz',
      'openclaw-2026.4.12-arm64.tar.gz.sha256',
      'openclaw-2026.4.12-x64.tar.zst',
      'openclaw-2026.4.12-x64.tar.zst.sha256',
    ]);
    expect(run.summary).toContain('Published slice full');
    expect(run.summary).toContain('<th>Agent</th>');
    expect(run.summary).toContain('vm/images/openclaw-2026.4.12-x64.tar.zst');
    expect(run.summary).toContain('vm/manifest.json created after 1 attempt');
  });

  it('masks the credentials before anything else is printed', async () => {
    const ws = await workspace();
    const run = await runActionBundle('publish', {
      cwd: ws.dir,
      inputs: { slice: 'full', store: 's3://bucket-name', endpoint: 'not a url' },
      env: { AWS_ACCESS_KEY_ID: `${SECRET}-id`, AWS_SECRET_ACCESS_KEY: SECRET },
    });
    expect(run.exitCode).toBe(1);
    expect(run.errors).toEqual([
      'Input "endpoint" must be an http(s):// URL without credentials; got "not a url".',
    ]);
    const lines = run.stdout.split('\n').filter(Boolean);
    // The runner consumes ::add-mask:: itself; it must come first, and the value nowhere else.
    expect(lines.slice(0, 2).sort()).toEqual([`::add-mask::${SECRET}`, `::add-mask::${SECRET}-id`]);
    expect(lines.slice(2).join('\n')).not.toContain(SECRET);
    expect(run.stderr).not.toContain(SECRET);
  });

  it('a second run of the same slice is skipped and keeps the manifest', async () => {
    const ws = await workspace();
    const inputs = { slice: 'full', store: ws.url };
    const first = await runActionBundle('publish', { cwd: ws.dir, inputs });
    const again = await runActionBundle('publish', { cwd: ws.dir, inputs });
    expect([first.exitCode, again.exitCode]).toEqual([0, 0]);
    expect(again.outputs['manifest-etag']).toBe(first.outputs['manifest-etag']);
    expect(
      JSON.parse(again.outputs.uploaded ?? '').map((u: { skipped: boolean }) => u.skipped),
    ).toEqual([true, true]);
    expect(again.summary).toContain('vm/manifest.json unchanged after 1 attempt');
  });

  it('an agent slice cannot create the manifest without allow-empty-baseline', async () => {
    const ws = await workspace();
    const run = await runActionBundle('publish', {
      cwd: ws.dir,
      inputs: { slice: 'agents:openclaw', store: ws.url },
    });
    expect(run.exitCode).toBe(1);
    expect(run.errors).toEqual([
      `vm/manifest.json does not exist in file://${ws.store}: only slice full or allow-empty-baseline may create it`,
    ]);
    expect(await readdir(join(ws.store, 'vm')).then((e) => e.includes('manifest.json'))).toBe(
      false,
    );
  });
});
