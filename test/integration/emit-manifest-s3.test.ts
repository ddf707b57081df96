import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { rgwEnv, uniquePrefix, workspace } from '../support/publish-fixtures.js';
import { runCliBundle } from '../support/runner.js';

describe('emit-manifest with an s3:// baseline (Ceph RGW)', () => {
  it('merges an agent slice into the manifest read from the bucket', async () => {
    const rgw = inject('rgw');
    const prefix = uniquePrefix();
    const base = await workspace(['alpha', 'beta'], '1.0.0');
    const published = await runCliBundle(
      ['publish', '--slice', 'full', '--store', `s3://${rgw.RGW_BUCKET}/${prefix}`],
      { cwd: base.dir, env: rgwEnv(rgw) },
    );
    expect(published.exitCode).toBe(0);
    const next = await workspace(['alpha', 'beta'], '2.0.0');
    const run = await runCliBundle(
      [
        'emit-manifest',
        '--slice',
        'agents:beta',
        '--merge-from',
        `s3://${rgw.RGW_BUCKET}/${prefix}/vm/manifest.json`,
        '--now',
        '2026-04-22T00:00:00.000Z',
      ],
      { cwd: next.dir, env: rgwEnv(rgw) },
    );
    expect(run.stderr).not.toContain('error');
    expect(run.exitCode).toBe(0);
    const manifest = JSON.parse(await readFile(join(next.distDir, 'manifest.json'), 'utf8'));
    expect(manifest.agents.alpha.version).toBe('1.0.0');
    expect(manifest.agents.beta.version).toBe('2.0.0');
  });

  it('a missing s3:// baseline fails unless allow-empty-baseline', async () => {
    const rgw = inject('rgw');
    const ws = await workspace(['alpha'], '1.0.0');
    const url = `s3://${rgw.RGW_BUCKET}/${uniquePrefix()}/vm/manifest.json`;
    const run = await runCliBundle(
      ['emit-manifest', '--slice', 'agents:alpha', '--merge-from', url],
      { cwd: ws.dir, env: rgwEnv(rgw) },
    );
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      `error: baseline not found: ${url} (pass allow-empty-baseline for a first release)\n`,
    );
  });

  it('needs credentials for an s3:// baseline, checked before any request', async () => {
    const rgw = inject('rgw');
    const ws = await workspace(['alpha'], '1.0.0');
    // The endpoint is a server that counts what reaches it: nothing may.
    const requests: string[] = [];
    const endpoint = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.writeHead(500).end();
    });
    endpoint.listen(0, '127.0.0.1');
    await once(endpoint, 'listening');
    const { port } = endpoint.address() as AddressInfo;
    try {
      const run = await runCliBundle(
        [
          'emit-manifest',
          '--slice',
          'agents:alpha',
          '--merge-from',
          `s3://${rgw.RGW_BUCKET}/vm/manifest.json`,
        ],
        {
          cwd: ws.dir,
          env: { ...rgwEnv(rgw, `http://127.0.0.1:${port}`), AWS_ACCESS_KEY_ID: undefined },
        },
      );
      expect(run.exitCode).toBe(2);
      expect(run.stderr).toBe(
        'error: Input "access-key-id" is required for an s3:// store: pass it or set AWS_ACCESS_KEY_ID.\n',
      );
      expect(requests).toEqual([]);
    } finally {
      endpoint.close();
    }
  });
});
