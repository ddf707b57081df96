import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bucket, makeBucket, tmp } from '../support/bucket.js';
import { releaseWorkspace } from '../support/release.js';
import { runActionBundle, runCliBundle } from '../support/runner.js';

/**
 * A hostile server: its error bodies and manifest fields carry workflow commands,
 * and clients reach it through pre-signed URLs whose signature must stay secret.
 */
const INJECTION = '\n::set-output name=injected::yes\n::add-mask::vm\n  ::error::forged';
const SIGNATURE = 'f00dfacecafe0123456789';
const signed = (url: string) =>
  `${url}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAHOSTILE%2F20261205&X-Amz-Signature=${SIGNATURE}`;

/**
 * The injected commands, as the runner would obey them at a line start (our own
 * ::error:: and ::add-mask:: of the secret inputs are legitimate).
 */
const COMMAND_LINE = /^\s*::(set-output name=injected::|add-mask::vm$|error::forged)/m;

let bucket: Bucket;
let server: Server;
let base: string;

beforeAll(async () => {
  bucket = await makeBucket({ openclaw: 20_000 });
  const hostileManifest = JSON.stringify({
    schemaVersion: 2,
    updatedAt: '2026-04-22T00:00:00.000Z',
    agents: {
      openclaw: {
        image: 'ghcr.io/example/openclaw',
        version: '1.0.0',
        tarballs: { x64: { key: `vm/x${INJECTION}`, sha256: '0'.repeat(64), sizeBytes: 1 } },
      },
    },
  });
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    req.resume();
    if (path.startsWith('/hostile-bkt') && req.method === 'HEAD') {
      res.writeHead(404);
      res.end();
    } else if (path.startsWith('/hostile-bkt')) {
      // An S3 error: the SDK puts <Message> into the error it raises.
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>slow down${INJECTION}</Message></Error>`,
      );
    } else if (path === '/hostile/vm/manifest.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(hostileManifest);
    } else if (path === '/broken/vm/manifest.json') {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal${INJECTION}`);
    } else {
      readFile(join(bucket.root, path)).then(
        (bytes) => {
          res.writeHead(200, { 'content-length': bytes.length });
          res.end(bytes);
        },
        () => {
          res.writeHead(404);
          res.end();
        },
      );
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const OFF_GITHUB = {
  ACTIONS_RUNTIME_TOKEN: undefined,
  ACTIONS_RESULTS_URL: undefined,
  ACTIONS_CACHE_URL: undefined,
  VM_TOOLS_MANIFEST_URL: undefined,
  VM_TOOLS_CACHE_DIR: undefined,
};

function expectClean(...texts: string[]) {
  for (const text of texts) {
    expect(text).not.toMatch(COMMAND_LINE);
    expect(text).not.toContain(SIGNATURE);
  }
}

describe('nothing a server says becomes a workflow command; no signature is published', () => {
  it('publish action: store error bodies in retry logs and the failure', async () => {
    const dir = await releaseWorkspace();
    const run = await runActionBundle('publish', {
      cwd: dir,
      inputs: {
        slice: 'full',
        store: 's3://hostile-bkt',
        endpoint: base,
        region: 'us-east-1',
        'access-key-id': 'AKIAHOSTILE',
        'secret-access-key': 'secret',
        'session-token': 'sts-session-token-1234',
        'timeout-seconds': '2',
      },
      env: OFF_GITHUB,
    });
    expect(run.exitCode).toBe(1);
    // The session token is a secret input: masked before anything can print it.
    expect(run.stdout.split('\n')).toContain('::add-mask::sts-session-token-1234');
    // The body did reach our logs (so the test exercises the gate), defused.
    expect(run.stdout).toContain('::set-output name=injected::yes');
    expectClean(run.stdout, run.stderr, run.summary);
    expect(run.outputs.injected).toBeUndefined();
  });

  it('hydrate-cache CLI: a hostile manifest key and a pre-signed manifest URL', async () => {
    const run = await runCliBundle(
      [
        'hydrate-cache',
        '--manifest-url',
        signed(`${base}/hostile/vm/manifest.json`),
        '--cache-dir',
        join(await tmp('hostile'), 'cache'),
        '--arch',
        'x64',
      ],
      { env: OFF_GITHUB },
    );
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('add-mask');
    expectClean(run.stdout, run.stderr);
    expect(run.outputs.injected).toBeUndefined();
  });

  it('hydrate-cache action: a pre-signed manifest URL stays out of stdout, summary and outputs', async () => {
    const run = await runActionBundle('hydrate-cache', {
      inputs: {
        'manifest-url': signed(`${base}/vm/manifest.json`),
        'cache-dir': join(await tmp('signed'), 'cache'),
        arch: 'x64',
      },
      env: OFF_GITHUB,
    });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.summary).toContain('vm/manifest.json?REDACTED');
    expectClean(run.stdout, run.stderr, run.summary, JSON.stringify(run.outputs));
  });

  it('emit-manifest action: a pre-signed merge-from that fails with a hostile body', async () => {
    const dir = await releaseWorkspace();
    const run = await runActionBundle('emit-manifest', {
      cwd: dir,
      inputs: { slice: 'agents:openclaw', 'merge-from': signed(`${base}/broken/vm/manifest.json`) },
      env: OFF_GITHUB,
    });
    expect(run.exitCode).toBe(1);
    expect(run.errors.join('\n')).toContain('/broken/vm/manifest.json?REDACTED');
    expectClean(run.stdout, run.stderr, run.summary, JSON.stringify(run.outputs));
  });

  it('emit-manifest CLI: the same, on stderr', async () => {
    const dir = await releaseWorkspace();
    const run = await runCliBundle(
      [
        'emit-manifest',
        '--slice',
        'agents:openclaw',
        '--merge-from',
        signed(`${base}/broken/vm/manifest.json`),
      ],
      { cwd: dir },
    );
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('REDACTED');
    expectClean(run.stdout, run.stderr);
  });
});
