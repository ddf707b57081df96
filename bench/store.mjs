#!/usr/bin/env node
// Upload throughput to a local Ceph RGW, three ways:
//   1. loopback, 1 GiB: the project's multipart path (`vm-tools upload`, the built
//      CLI) vs one PutObject. CPU-bound on small machines, so a wash.
//   2. through a proxy that caps each connection (8 MiB/s and +20 ms per request
//      by default), 256 MiB: S3Store.putFile (multipart, the product's code, from
//      the TypeScript source) vs S3Store.putFileSingle (one PutObject of the whole
//      file), side by side, plus the whole `vm-tools upload` command through it.
//      The same putFile straight to RGW gives this machine's ceiling: the cap
//      times the parts in flight must stay well under it, or the run measures
//      RGW's CPU instead of the network (2 cores reach ~30-50 MiB/s).
//   3. 16 publishers contending for one manifest, until all land.
//
//   node bench/store.mjs [--size-mib 1024] [--proxy-size-mib 256] [--cap-mibps 16]
//                        [--latency-ms 20] [--publishers 16] [--only loopback,proxy,publishers]
// Starts a throwaway RGW with scripts/rgw (or reuses VM_TOOLS_RGW_ENV=<env file>).
// Needs `npm run build` (the CLI) and Node 24 (`npm run bench` uses it).
import './lib/ts-source.mjs';
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startThrottledProxy } from './lib/throttled-proxy.mjs';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    'proxy-size-mib': { type: 'string', default: '256' },
    'cap-mibps': { type: 'string', default: '8' },
    'latency-ms': { type: 'string', default: '20' },
    publishers: { type: 'string', default: '16' },
    only: { type: 'string', default: 'loopback,proxy,publishers' },
  },
});
const sizeMiB = Number(values['size-mib']);
const proxySizeMiB = Number(values['proxy-size-mib']);
const capMiBps = Number(values['cap-mibps']);
const latencyMs = Number(values['latency-ms']);
const publishers = Number(values.publishers);
const sections = new Set(values.only.split(','));
// After the import of ./lib/ts-source.mjs has run: a static import would be linked
// before its hook exists. The built CLI must be current for its numbers to match.
const { S3Store, PARTS_IN_FLIGHT, partSizeFor } = await import('../src/lib/store/s3.ts');
const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'cli', 'index.js');
const run = promisify(execFile);

function envLines(text) {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

async function randomFile(path, mib) {
  const out = createWriteStream(path);
  for (let i = 0; i < mib; i++) {
    if (!out.write(randomBytes(1 << 20))) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
  return path;
}

async function timed(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

function cli(args, { cwd, env }) {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) fail(new Error(`vm-tools ${args[0]} exited ${code}: ${stderr}`));
      else done(envLines(stdout));
    });
  });
}

const reuse = process.env.VM_TOOLS_RGW_ENV;
const rgw = envLines(
  reuse
    ? await readFile(reuse, 'utf8')
    : (await run(join(ROOT, 'scripts', 'rgw'), ['start'])).stdout,
);
const env = {
  AWS_ENDPOINT_URL_S3: rgw.AWS_ENDPOINT_URL_S3,
  AWS_ACCESS_KEY_ID: rgw.AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: rgw.AWS_SECRET_ACCESS_KEY,
  AWS_REGION: rgw.AWS_REGION,
};
const prefix = `bench-${randomBytes(4).toString('hex')}`;
const work = await mkdtemp(join(tmpdir(), 'vm-tools-bench-'));
const client = new S3Client({
  region: rgw.AWS_REGION,
  endpoint: rgw.AWS_ENDPOINT_URL_S3,
  forcePathStyle: true,
  credentials: { accessKeyId: rgw.AWS_ACCESS_KEY_ID, secretAccessKey: rgw.AWS_SECRET_ACCESS_KEY },
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});

/**
 * Single PutObject vs multipart through a proxy that caps each connection: the
 * network case multipart is for. Both runs use the product's S3Store from the
 * TypeScript source, so they share one client configuration; only the upload
 * strategy differs.
 */
async function throughProxy() {
  const file = await randomFile(join(work, 'proxied.bin'), proxySizeMiB);
  const bytes = proxySizeMiB * 2 ** 20;
  const proxy = await startThrottledProxy({
    target: rgw.AWS_ENDPOINT_URL_S3,
    bytesPerSecond: capMiBps * 2 ** 20,
    latencyMs,
  });
  const storeAt = (endpoint) =>
    new S3Store({
      bucket: rgw.RGW_BUCKET,
      prefix: `${prefix}/proxied/`,
      endpoint,
      region: rgw.AWS_REGION,
      accessKeyId: rgw.AWS_ACCESS_KEY_ID,
      secretAccessKey: rgw.AWS_SECRET_ACCESS_KEY,
    });
  const store = storeAt(proxy.url);
  // Times one upload through the proxy, checks the object landed whole, removes it.
  const measure = async (key, upload) => {
    const before = { ...proxy.stats };
    const ms = await timed(upload);
    const requests = proxy.stats.requests - before.requests;
    const parts = proxy.stats.partRequests - before.partRequests;
    const head = await store.head(key);
    if (head?.sizeBytes !== bytes) throw new Error(`${key} is ${head?.sizeBytes} bytes`);
    await store.delete(key);
    return { ms, requests, parts };
  };
  try {
    const loadAtStart = load();
    const single = await measure('single.bin', () =>
      store.putFileSingle('single.bin', file, { sizeBytes: bytes }),
    );
    const multi = await measure('multipart.bin', () =>
      store.putFile('multipart.bin', file, { sizeBytes: bytes }),
    );
    const command = await measure('command.bin', () =>
      cli(
        [
          'upload',
          '--file',
          file,
          '--key',
          'command.bin',
          '--store',
          `s3://${rgw.RGW_BUCKET}/${prefix}/proxied`,
        ],
        { cwd: work, env: { ...env, AWS_ENDPOINT_URL_S3: proxy.url } },
      ),
    );
    const direct = storeAt(rgw.AWS_ENDPOINT_URL_S3);
    const ceilingMs = await timed(() => direct.putFile('ceiling.bin', file, { sizeBytes: bytes }));
    await direct.delete('ceiling.bin');
    const loadAtEnd = load();

    const row = (label, ms, extra = '') =>
      `  ${label.padEnd(58)} ${`${(ms / 1000).toFixed(1)} s`.padStart(7)} ${`${(proxySizeMiB / (ms / 1000)).toFixed(1)} MiB/s`.padStart(12)}${extra}`;
    const times = (ms) => `  ${(single.ms / ms).toFixed(2)}x single`;
    const limit = Math.min(PARTS_IN_FLIGHT, Math.ceil(bytes / partSizeFor(bytes)));
    console.log(
      [
        `${proxySizeMiB} MiB through a proxy capping each connection at ${capMiBps} MiB/s, +${latencyMs} ms per request (load ${loadAtStart} -> ${loadAtEnd}):`,
        row('single PutObject (S3Store.putFileSingle)', single.ms),
        row(
          `multipart (S3Store.putFile: ${multi.parts} x ${partSizeFor(bytes) / 2 ** 20} MiB, ${PARTS_IN_FLIGHT} in flight)`,
          multi.ms,
          `${times(multi.ms)} (limit ${limit}x)`,
        ),
        row(
          `vm-tools upload (sha256, HEAD, multipart, verify; ${command.requests} req)`,
          command.ms,
          times(command.ms),
        ),
        row('ceiling: the same putFile straight to RGW, no proxy', ceilingMs),
      ].join('\n'),
    );
  } finally {
    await proxy.close();
    await rm(file, { force: true });
  }
}

try {
  console.log(
    `machine: ${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, Ceph RGW memstore on 127.0.0.1`,
  );
  if (sections.has('loopback')) {
    const file = await randomFile(join(work, 'big.bin'), sizeMiB);
    const loadAtStart = load();
    const bytes = sizeMiB * 2 ** 20;
    const mibps = (ms) => (bytes / 2 ** 20 / (ms / 1000)).toFixed(1);

    let t = performance.now();
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }))
      hash.update(chunk);
    hash.digest();
    const hashMs = performance.now() - t;

    t = performance.now();
    await cli(
      [
        'upload',
        '--file',
        file,
        '--key',
        'bench/multipart.bin',
        '--store',
        `s3://${rgw.RGW_BUCKET}/${prefix}`,
      ],
      { cwd: work, env },
    );
    const multipartMs = performance.now() - t;
    await client.send(
      new DeleteObjectCommand({ Bucket: rgw.RGW_BUCKET, Key: `${prefix}/bench/multipart.bin` }),
    );

    t = performance.now();
    await client.send(
      new PutObjectCommand({
        Bucket: rgw.RGW_BUCKET,
        Key: `${prefix}/bench/single.bin`,
        Body: createReadStream(file, { highWaterMark: 1 << 20 }),
        ContentLength: bytes,
      }),
    );
    const singleMs = performance.now() - t;
    await client.send(
      new DeleteObjectCommand({ Bucket: rgw.RGW_BUCKET, Key: `${prefix}/bench/single.bin` }),
    );
    await rm(file);
    console.log(
      `loopback upload ${sizeMiB} MiB (load ${loadAtStart}): multipart (vm-tools upload, ${partSizeFor(bytes) / 2 ** 20} MiB parts, ${PARTS_IN_FLIGHT} in flight) ${(multipartMs / 1000).toFixed(1)} s = ${mibps(multipartMs)} MiB/s; single PutObject ${(singleMs / 1000).toFixed(1)} s = ${mibps(singleMs)} MiB/s; single/multipart time ratio ${(singleMs / multipartMs).toFixed(2)} (the multipart run includes the sha256 pass, alone ${(hashMs / 1000).toFixed(1)} s; without it the ratio is ${(singleMs / (multipartMs - hashMs)).toFixed(2)})`,
    );
  }

  if (sections.has('proxy')) await throughProxy();

  if (sections.has('publishers')) {
    const agents = Array.from(
      { length: publishers },
      (_, i) => `agent${String(i).padStart(2, '0')}`,
    );
    await mkdir(join(work, 'dist', 'images'), { recursive: true });
    await writeFile(
      join(work, 'bundle.json'),
      JSON.stringify({
        agents: agents.map((name) => ({ name, image: `ghcr.io/x/${name}`, version: '1.0.0' })),
      }),
    );
    for (const a of agents)
      for (const arch of ['arm64', 'x64'])
        await writeFile(
          join(work, 'dist', 'images', `${a}-1.0.0-${arch}.tar.gz`),
          `${a} ${arch}\n`,
        );
    const t = performance.now();
    const results = await Promise.all(
      agents.map(async (a) => {
        const outputs = await cli(
          [
            'publish',
            '--slice',
            `agents:${a}`,
            '--allow-empty-baseline',
            '--store',
            `s3://${rgw.RGW_BUCKET}/${prefix}`,
          ],
          { cwd: work, env },
        );
        return { attempts: Number(outputs.attempts), ms: performance.now() - t };
      }),
    );
    const allMs = performance.now() - t;
    const attempts = results.map((r) => r.attempts);
    console.log(
      `${publishers} contending publishers (separate processes, no manifest at start): all landed in ${(allMs / 1000).toFixed(1)} s; attempts ${attempts.join(',')} (total ${attempts.reduce((a, b) => a + b, 0)}, max ${Math.max(...attempts)})`,
    );
  }
} finally {
  await rm(work, { recursive: true, force: true });
  if (!reuse) await run(join(ROOT, 'scripts', 'rgw'), ['stop', rgw.RGW_DIR]);
  // RGW frees a deleted object's data only at garbage collection, hours later by
  // default: a reused memstore RGW fills up after a few runs and then stalls every
  // write until the client times out (HTTP 408). Collect now, best effort.
  else
    await run('radosgw-admin', [
      '-c',
      join(rgw.RGW_DIR, 'ceph.conf'),
      'gc',
      'process',
      '--include-all',
    ]).catch((error) => console.error(`radosgw-admin gc process failed: ${error.message}`));
}
