import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LEFTOVERS_STATE, type Leftover } from '../../src/lib/cleanup.js';
import { withLock } from '../../src/lib/fs/lock.js';
import { type RunningStep, startAction, startCli } from '../support/cancel.js';
import { parseEnvLines, type RgwEnv } from '../support/rgw-setup.js';
import { ROOT, runActionBundle } from '../support/runner.js';

/**
 * Cancelled uploads, for real: a multipart upload into a real Ceph RGW whose
 * part uploads a proxy holds (a store that has become slow mid-upload), and a
 * file:// upload whose commit waits for another publisher's lock on the key.
 */
const run = promisify(execFile);
const MiB = 1024 * 1024;
let rgw: RgwEnv;
let startedRgw = false;
let s3: S3Client;
let dir: string;
const steps: RunningStep[] = [];

interface HoldingProxy {
  url: string;
  /** UploadPart requests received and held (never answered). */
  held: number;
  close(): Promise<void>;
}

/** Forwards everything to RGW except UploadPart requests, which it holds open. */
async function holdingProxy(target: string): Promise<HoldingProxy> {
  const upstreamUrl = new URL(target);
  const held: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    if (req.method === 'PUT' && /[?&]partNumber=/.test(req.url ?? '')) {
      held.push(req);
      req.resume();
      return;
    }
    const upstream = request(
      {
        host: upstreamUrl.hostname,
        port: upstreamUrl.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get held() {
      return held.length;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function openUploads(key: string): Promise<string[]> {
  const out = await s3.send(
    new ListMultipartUploadsCommand({ Bucket: rgw.RGW_BUCKET, Prefix: key }),
  );
  return (out.Uploads ?? []).filter((u) => u.Key === key).map((u) => u.UploadId as string);
}

function rgwEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: rgw.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: rgw.AWS_SECRET_ACCESS_KEY,
    AWS_REGION: rgw.AWS_REGION,
  };
}

beforeAll(async () => {
  // The e2e project has no RGW of its own: reuse a running one, else start one.
  const reuse = process.env.VM_TOOLS_RGW_ENV;
  const text = reuse
    ? await readFile(reuse, 'utf8')
    : (await run(join(ROOT, 'scripts', 'rgw'), ['start'], { timeout: 300_000 })).stdout;
  startedRgw = !reuse;
  rgw = parseEnvLines(text) as unknown as RgwEnv;
  s3 = new S3Client({
    endpoint: rgw.AWS_ENDPOINT_URL_S3,
    forcePathStyle: true,
    region: rgw.AWS_REGION,
    credentials: {
      accessKeyId: rgw.AWS_ACCESS_KEY_ID,
      secretAccessKey: rgw.AWS_SECRET_ACCESS_KEY,
    },
  });
  dir = await mkdtemp(join(tmpdir(), 'vm-tools-cancel-store-'));
}, 300_000);

afterEach(async () => {
  for (const step of steps.splice(0)) await step.dispose();
});

afterAll(async () => {
  s3?.destroy();
  if (startedRgw) await run(join(ROOT, 'scripts', 'rgw'), ['stop', rgw.RGW_DIR]);
  await rm(dir, { recursive: true, force: true });
});

describe('an s3:// multipart upload cancelled mid-way is aborted', () => {
  it('SIGINT (vm-tools upload): the upload is aborted before the process exits 130', async () => {
    const proxy = await holdingProxy(rgw.AWS_ENDPOINT_URL_S3);
    try {
      const file = join(dir, 'sigint.bin');
      await writeFile(file, randomBytes(40 * MiB));
      const prefix = `cancel-${randomBytes(4).toString('hex')}`;
      const key = `${prefix}/vm/images/sigint.tar.gz`;
      const step = startCli(
        ['upload', '--file', file, '--key', 'vm/images/sigint.tar.gz'].concat([
          '--store',
          `s3://${rgw.RGW_BUCKET}/${prefix}`,
        ]),
        { env: rgwEnv(proxy.url) },
      );
      steps.push(step);
      await step.waitUntil(async () => proxy.held > 0);
      expect(await openUploads(key)).toHaveLength(1);

      const ended = await step.kill('SIGINT');

      expect(await openUploads(key)).toEqual([]);
      expect(step.output()).toContain('SIGINT: cancelled; removing 1 thing this step created');
      expect(ended).toEqual({ code: 130, signal: null });
    } finally {
      await proxy.close();
    }
  });

  it('SIGKILL (publish action): main saved the upload id, and the post step aborts it', async () => {
    const proxy = await holdingProxy(rgw.AWS_ENDPOINT_URL_S3);
    try {
      const work = join(dir, 'publish');
      await mkdir(join(work, 'dist', 'images'), { recursive: true });
      await writeFile(
        join(work, 'bundle.json'),
        JSON.stringify({
          agents: [{ name: 'big', image: 'ghcr.io/example/big', version: '1.0.0' }],
        }),
      );
      await writeFile(join(work, 'dist', 'images', 'big-1.0.0-x64.tar.gz'), randomBytes(40 * MiB));
      const prefix = `cancel-${randomBytes(4).toString('hex')}`;
      const key = `${prefix}/vm/images/big-1.0.0-x64.tar.gz`;
      const inputs = {
        slice: 'full',
        arches: 'x64',
        store: `s3://${rgw.RGW_BUCKET}/${prefix}`,
        endpoint: proxy.url,
        region: rgw.AWS_REGION,
        'access-key-id': rgw.AWS_ACCESS_KEY_ID,
        'secret-access-key': rgw.AWS_SECRET_ACCESS_KEY,
      };
      const step = await startAction('publish', { cwd: work, inputs });
      steps.push(step);
      await step.waitUntil(async () => proxy.held > 0);
      const [uploadId] = await openUploads(key);
      await step.waitUntil(
        async () => (await step.state())[LEFTOVERS_STATE]?.includes(uploadId as string) ?? false,
      );
      const state = await step.state();

      expect(await step.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });

      expect(JSON.parse(state[LEFTOVERS_STATE] ?? '[]') as Leftover[]).toEqual([
        { kind: 'multipart', bucket: rgw.RGW_BUCKET, key, uploadId },
      ]);
      // Killed: the upload is still open on the server.
      expect(await openUploads(key)).toEqual([uploadId]);

      const post = await runActionBundle('publish', { phase: 'post', cwd: work, inputs, state });

      expect(post.errors).toEqual([]);
      expect(post.exitCode).toBe(0);
      expect(post.stdout).toContain(`removed multipart upload of s3://${rgw.RGW_BUCKET}/${key}`);
      expect(await openUploads(key)).toEqual([]);
      // The secret is masked first and never printed otherwise.
      const printed = (post.stdout + step.output())
        .split('\n')
        .filter((line) => !line.startsWith('::add-mask::'));
      expect(post.stdout).toContain(`::add-mask::${rgw.AWS_SECRET_ACCESS_KEY}`);
      expect(printed.join('\n')).not.toContain(rgw.AWS_SECRET_ACCESS_KEY);
    } finally {
      await proxy.close();
    }
  });
});

describe('a file:// upload cancelled mid-way leaves no temp file in the bucket', () => {
  it('SIGINT while the commit waits for the key lock: the .tmp copy is removed, exit 130', async () => {
    const bucket = join(dir, 'bucket');
    const key = 'vm/images/locked.tar.gz';
    const file = join(dir, 'locked.bin');
    await writeFile(file, randomBytes(4 * MiB));
    let releaseLock: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      releaseLock = resolve;
    });
    let locked: () => void = () => {};
    const lockTaken = new Promise<void>((resolve) => {
      locked = resolve;
    });
    // Another publisher is committing this key (the file store keeps its key locks
    // under its metadata directory, out of the bucket tree).
    const holder = withLock(join(bucket, '.vm-tools', 'locks', key), async () => {
      locked();
      await held;
    });
    await lockTaken;
    try {
      const step = startCli(
        ['upload', '--file', file, '--key', key, '--store', `file://${bucket}`],
        {},
      );
      steps.push(step);
      const temps = async () =>
        (await readdir(join(bucket, 'vm', 'images')).catch(() => [] as string[])).filter((f) =>
          f.endsWith('.tmp'),
        );
      // The whole copy is written and waits for the lock.
      await step.waitUntil(async () => (await temps()).length > 0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await temps()).toHaveLength(1);

      const ended = await step.kill('SIGINT');

      expect(await temps()).toEqual([]);
      expect(ended).toEqual({ code: 130, signal: null });
      expect(await readdir(join(bucket, 'vm', 'images'))).toEqual([]);
    } finally {
      releaseLock();
      await holder;
    }
  });
});
