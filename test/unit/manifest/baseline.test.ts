import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBaseline } from '../../../src/lib/manifest/baseline.js';
import { serializeManifest } from '../../../src/lib/manifest/manifest.js';
import { tempDir } from '../../support/release.js';

const valid = {
  schemaVersion: 2 as const,
  updatedAt: '2026-04-01T00:00:00.000Z',
  agents: {
    openclaw: {
      image: 'ghcr.io/openclaw/openclaw',
      version: '2026.4.12',
      tarballs: {
        x64: {
          key: 'vm/images/openclaw-2026.4.12-x64.tar.gz',
          sha256: 'a'.repeat(64),
          sizeBytes: 202,
        },
      },
    },
  },
};
const withDotDot = JSON.stringify({
  ...valid,
  agents: {
    openclaw: {
      ...valid.agents.openclaw,
      tarballs: { x64: { ...valid.agents.openclaw.tarballs.x64, key: '../x64.tar.gz' } },
    },
  },
});
const DOTDOT_REASON =
  'is not a valid manifest: $.agents.openclaw.tarballs.x64.key: invalid key "../x64.tar.gz": has a ".." segment';

describe('readBaseline from files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('vm-tools-baseline-');
    await writeFile(join(dir, 'good.json'), serializeManifest(valid));
    await writeFile(join(dir, 'text.json'), 'not json at all');
    await writeFile(join(dir, 'schema.json'), JSON.stringify({ ...valid, agents: [] }));
    await writeFile(join(dir, 'dotdot.json'), withDotDot);
    await mkdir(join(dir, 'a-dir'));
  });

  it('reads a manifest by path and by file:// URL', async () => {
    expect(await readBaseline(join(dir, 'good.json'))).toEqual(valid);
    expect(await readBaseline(pathToFileURL(join(dir, 'good.json')).href)).toEqual(valid);
  });

  it('refuses a missing baseline unless allowed to be empty', async () => {
    const missing = join(dir, 'missing.json');
    await expect(readBaseline(missing)).rejects.toThrow(
      new Error(`baseline not found: ${missing} (pass allow-empty-baseline for a first release)`),
    );
    const url = pathToFileURL(missing).href;
    await expect(readBaseline(url)).rejects.toThrow(
      new Error(`baseline not found: ${url} (pass allow-empty-baseline for a first release)`),
    );
    expect(await readBaseline(missing, { allowEmpty: true })).toBeUndefined();
  });

  it.each([
    ['text.json', 'is not JSON: '],
    [
      'schema.json',
      'is not a valid manifest: $.agents: Invalid input: expected record, received array',
    ],
    ['dotdot.json', DOTDOT_REASON],
  ])('refuses %s with the reason, even when empty is allowed', async (file, reason) => {
    const path = join(dir, file);
    for (const allowEmpty of [false, true]) {
      await expect(readBaseline(path, { allowEmpty })).rejects.toThrow(
        `baseline ${path} ${reason}`,
      );
    }
  });

  it('refuses what cannot be read', async () => {
    await expect(readBaseline(join(dir, 'a-dir'))).rejects.toThrow(
      new Error(`cannot read baseline ${join(dir, 'a-dir')}: EISDIR`),
    );
  });

  it('reads s3:// only through a configured object store', async () => {
    await expect(readBaseline('s3://bucket/vm/manifest.json')).rejects.toThrow(
      new Error('cannot read baseline s3://bucket/vm/manifest.json: no object store is configured'),
    );
    const asked: string[] = [];
    const readObject = async (url: string) => {
      asked.push(url);
      return url.endsWith('present.json') ? JSON.stringify(valid) : undefined;
    };
    expect(await readBaseline('s3://b/present.json', { readObject })).toEqual(valid);
    await expect(readBaseline('s3://b/absent.json', { readObject })).rejects.toThrow(
      'baseline not found: s3://b/absent.json',
    );
    expect(asked).toEqual(['s3://b/present.json', 's3://b/absent.json']);
  });
});

describe('readBaseline over HTTP (a real server on 127.0.0.1)', () => {
  let server: Server;
  let base: string;
  const seen: { url?: string; cacheControl?: string }[] = [];
  const routes: Record<string, [number, string]> = {
    '/vm/manifest.json': [200, serializeManifest(valid)],
    '/vm/text.json': [200, '<html>oops</html>'],
    '/vm/dotdot.json': [200, withDotDot],
    '/vm/broken.json': [500, 'internal error'],
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url, cacheControl: req.headers['cache-control'] });
      const [status, body] = routes[req.url ?? ''] ?? [404, 'not found'];
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.close();
    await once(server, 'close');
  });

  it('reads a served manifest, asking caches for a fresh copy', async () => {
    expect(await readBaseline(`${base}/vm/manifest.json`)).toEqual(valid);
    expect(seen.at(-1)).toEqual({ url: '/vm/manifest.json', cacheControl: 'no-cache' });
  });

  it('refuses a 404 as a missing baseline unless allowed to be empty', async () => {
    const url = `${base}/vm/absent.json`;
    await expect(readBaseline(url)).rejects.toThrow(
      new Error(`baseline not found: ${url} (pass allow-empty-baseline for a first release)`),
    );
    expect(await readBaseline(url, { allowEmpty: true })).toBeUndefined();
  });

  it('refuses other HTTP failures, non-JSON and invalid manifests, even when empty is allowed', async () => {
    const broken = `${base}/vm/broken.json`;
    await expect(readBaseline(broken, { allowEmpty: true })).rejects.toThrow(
      new Error(`cannot read baseline ${broken}: HTTP 500`),
    );
    await expect(readBaseline(`${base}/vm/text.json`, { allowEmpty: true })).rejects.toThrow(
      `baseline ${base}/vm/text.json is not JSON: `,
    );
    await expect(readBaseline(`${base}/vm/dotdot.json`, { allowEmpty: true })).rejects.toThrow(
      new Error(`baseline ${base}/vm/dotdot.json ${DOTDOT_REASON}`),
    );
  });

  it('names the transport failure when nothing listens', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const url = `http://127.0.0.1:${port}/vm/manifest.json`;
    await expect(readBaseline(url, { allowEmpty: true })).rejects.toThrow(
      new Error(`cannot read baseline ${url}: ECONNREFUSED`),
    );
  });

  it('gives up on a server that never answers', async () => {
    const silent = createServer(() => {});
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/vm/manifest.json`;
    try {
      await expect(readBaseline(url, { timeoutMs: 200 })).rejects.toThrow(
        /^cannot read baseline http:\/\/127\.0\.0\.1:\d+\/vm\/manifest\.json: .*(timeout|aborted)/i,
      );
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});
