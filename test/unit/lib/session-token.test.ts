import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import download from '../../../src/commands/download.js';
import emitManifest from '../../../src/commands/emit-manifest.js';
import { runCli } from '../../../src/lib/command/cli.js';
import { openStore } from '../../../src/lib/store/open.js';
import { releaseWorkspace } from '../../support/release.js';

/** A real HTTP server on 127.0.0.1 standing in for the S3 endpoint: it records what the SDK sends. */
let server: Server;
let endpoint: string;
const seen: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    res.writeHead(404, { 'content-type': 'application/xml' });
    res.end(
      '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>none</Message></Error>',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const io = (env: NodeJS.ProcessEnv) => {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: (t: string) => {
        out.stdout += t;
      },
      stderr: (t: string) => {
        out.stderr += t;
      },
      env,
      cwd: process.cwd(),
    },
  };
};

describe('temporary credentials (session token)', () => {
  it('the S3 store signs with X-Amz-Security-Token when given one', async () => {
    seen.length = 0;
    const store = await openStore(
      {
        kind: 's3',
        bucket: 'tok',
        prefix: '',
        endpoint,
        region: 'us-east-1',
        accessKeyId: 'ASIATEMPORARY',
        secretAccessKey: 'secret',
        sessionToken: 'token-from-sts',
      },
      { maxAttempts: 1 },
    );
    expect(await store.head('vm/manifest.json')).toBeUndefined();
    expect(seen.length).toBeGreaterThan(0);
    for (const headers of seen) {
      expect(headers['x-amz-security-token']).toBe('token-from-sts');
      // The token is part of what is signed, or STS credentials are refused.
      expect(headers.authorization).toContain('x-amz-security-token');
    }
  });

  it('long-lived keys send no token', async () => {
    seen.length = 0;
    const store = await openStore(
      {
        kind: 's3',
        bucket: 'tok',
        prefix: '',
        endpoint,
        region: 'us-east-1',
        accessKeyId: 'AKIALONGLIVED',
        secretAccessKey: 'secret',
      },
      { maxAttempts: 1 },
    );
    await store.head('vm/manifest.json');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((h) => h['x-amz-security-token'] === undefined)).toBe(true);
  });

  it('download reads AWS_SESSION_TOKEN when the input is empty', async () => {
    seen.length = 0;
    const { io: cliIo } = io({
      AWS_ACCESS_KEY_ID: 'ASIAENV',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'token-from-env',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_S3: endpoint,
    });
    const code = await runCli(
      download,
      [
        '--store',
        's3://tok',
        '--key',
        'vm/x.tar.gz',
        '--out',
        '/nonexistent/x',
        '--timeout-seconds',
        '1',
      ],
      cliIo,
    );
    expect(code).toBe(1);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]?.['x-amz-security-token']).toBe('token-from-env');
  });

  it('emit-manifest signs its s3:// merge-from read with --session-token', async () => {
    seen.length = 0;
    const dir = await releaseWorkspace();
    const { io: cliIo, out } = io({});
    cliIo.cwd = dir;
    const code = await runCli(
      emitManifest,
      [
        '--merge-from',
        's3://tok/vm/manifest.json',
        '--endpoint',
        endpoint,
        '--region',
        'us-east-1',
        '--access-key-id',
        'ASIAFLAG',
        '--secret-access-key',
        'secret',
        '--session-token',
        'token-from-flag',
      ],
      cliIo,
    );
    // The endpoint has no baseline: the read was made (signed) and found nothing.
    expect(out.stderr).toMatch(/baseline not found/);
    expect(code).toBe(1);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((h) => h['x-amz-security-token'] === 'token-from-flag')).toBe(true);
  });
});
