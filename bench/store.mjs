#!/usr/bin/env node
// Upload throughput of a 1 GiB file to a local Ceph RGW: the project's multipart
// path (`vm-tools upload`, the built CLI) vs one PutObject, and the time for 16
// publishers contending for one manifest to all land.
//
//   node bench/store.mjs [--size-mib 1024] [--publishers 16]
// Starts a throwaway RGW with scripts/rgw (or reuses VM_TOOLS_RGW_ENV=<env file>).
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    publishers: { type: 'string', default: '16' },
  },
});
const sizeMiB = Number(values['size-mib']);
const publishers = Number(values.publishers);
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

try {
  console.log(
    `machine: ${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, Ceph RGW memstore on 127.0.0.1`,
  );
  const file = join(work, 'big.bin');
  const out = createWriteStream(file);
  for (let i = 0; i < sizeMiB; i++) {
    if (!out.write(randomBytes(1 << 20))) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
  const bytes = sizeMiB * 2 ** 20;
  const mibps = (ms) => (bytes / 2 ** 20 / (ms / 1000)).toFixed(1);

  let t = performance.now();
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk);
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
    `upload ${sizeMiB} MiB: multipart (vm-tools upload, 8 MiB parts, 4 in flight) ${(multipartMs / 1000).toFixed(1)} s = ${mibps(multipartMs)} MiB/s; single PutObject ${(singleMs / 1000).toFixed(1)} s = ${mibps(singleMs)} MiB/s; single/multipart time ratio ${(singleMs / multipartMs).toFixed(2)} (the multipart run includes the sha256 pass, alone ${(hashMs / 1000).toFixed(1)} s; without it the ratio is ${(singleMs / (multipartMs - hashMs)).toFixed(2)})`,
  );

  const agents = Array.from({ length: publishers }, (_, i) => `agent${String(i).padStart(2, '0')}`);
  await mkdir(join(work, 'dist', 'images'), { recursive: true });
  await writeFile(
    join(work, 'bundle.json'),
    JSON.stringify({
      agents: agents.map((name) => ({ name, image: `ghcr.io/x/${name}`, version: '1.0.0' })),
    }),
  );
  for (const a of agents)
    for (const arch of ['arm64', 'x64'])
      await writeFile(join(work, 'dist', 'images', `${a}-1.0.0-${arch}.tar.gz`), `${a} ${arch}\n`);
  t = performance.now();
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
} finally {
  await rm(work, { recursive: true, force: true });
  if (!reuse) await run(join(ROOT, 'scripts', 'rgw'), ['stop', rgw.RGW_DIR]);
}
