#!/usr/bin/env node
// Benchmarks hydrate-cache against the naive alternatives, with the built CLI:
//   1. no-change sync of N cached artifacts: the verified-file index vs re-hashing every file;
//   2. cold sync from a local HTTP server: one pass (download while hashing) vs download, then hash.
// Usage: node bench/hydrate.mjs [--files 4] [--size-mib 512]   (needs `npm run build` first;
// uses about 3 x files x size of temp disk and deletes it afterwards).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '4' },
    'size-mib': { type: 'string', default: '512' },
  },
});
const FILES = Number(values.files);
const SIZE = Number(values['size-mib']) * 1024 * 1024;
const CLI = resolve(import.meta.dirname, '..', 'dist', 'cli', 'index.js');
const CHUNK = 16 * 1024 * 1024;

const ms = (start) => Math.round(performance.now() - start);

async function sha256File(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk);
  return hash.digest('hex');
}

async function writeRandomFile(path, size) {
  const block = randomBytes(CHUNK);
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let written = 0, i = 0; written < size; i++) {
    const n = Math.min(CHUNK, size - written);
    block.writeUInt32LE(i, 0);
    const part = block.subarray(0, n);
    hash.update(part);
    if (!out.write(part)) await new Promise((r) => out.once('drain', r));
    written += n;
  }
  await new Promise((r, j) => out.end((e) => (e ? j(e) : r())));
  return hash.digest('hex');
}

// Async: the HTTP server of part 2 lives in this process and must keep answering.
async function run(command, args) {
  const child = spawn(command, args, { stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise((r) => child.on('close', r));
  if (code !== 0) throw new Error(`${args.slice(0, 2).join(' ')} failed: ${stderr}`);
  return stdout;
}

async function cli(args) {
  const started = performance.now();
  const stdout = await run(process.execPath, [CLI, 'hydrate-cache', ...args]);
  return { ms: ms(started), stdout };
}

const work = await mkdtemp(join(tmpdir(), 'vm-tools-bench-'));
try {
  const bucket = join(work, 'bucket');
  await mkdir(join(bucket, 'vm', 'images'), { recursive: true });
  const agents = {};
  const keys = [];
  for (let i = 0; i < FILES; i++) {
    const key = `vm/images/agent${i}-1.0.0-x64.tar.gz`;
    const sha256 = await writeRandomFile(join(bucket, key), SIZE);
    agents[`agent${i}`] = {
      image: `ghcr.io/example/agent${i}`,
      version: '1.0.0',
      tarballs: { x64: { key, sha256, sizeBytes: SIZE } },
    };
    keys.push(key);
  }
  const manifest = { schemaVersion: 2, updatedAt: '2026-04-22T00:00:00.000Z', agents };
  await writeFile(join(bucket, 'vm', 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const fileUrl = pathToFileURL(join(bucket, 'vm', 'manifest.json')).href;

  // 1. No-change sync.
  const cache = join(work, 'cache');
  const first = await cli(['--manifest-url', fileUrl, '--cache-dir', cache, '--arch', 'x64']);
  const noChange = [];
  for (let i = 0; i < 3; i++) {
    const run = await cli(['--manifest-url', fileUrl, '--cache-dir', cache, '--arch', 'x64']);
    if (!run.stdout.includes('skipped=true')) throw new Error('expected a no-change sync');
    noChange.push(run.ms);
  }
  const projectNoChange = [...noChange].sort((a, b) => a - b)[1];
  let started = performance.now();
  for (const key of keys) {
    const expected = agents[`agent${keys.indexOf(key)}`].tarballs.x64.sha256;
    if ((await sha256File(join(cache, key))) !== expected) throw new Error('hash mismatch');
  }
  const naiveRehash = ms(started);

  // 2. Cold sync over HTTP from 127.0.0.1.
  const server = createServer((req, res) => {
    const path = join(bucket, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const body = createReadStream(path);
    body.on('error', () => res.writeHead(404).end());
    body.on('open', () => body.pipe(res));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}/`;
  await rm(cache, { recursive: true, force: true });
  // Both sides run as their own process against the same server, twice, alternating
  // (the machine is shared; the faster of the two runs is reported).
  const naiveScript = `
    import { createHash } from 'node:crypto';
    import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
    import { join } from 'node:path';
    import { Readable } from 'node:stream';
    import { pipeline } from 'node:stream/promises';
    const [base, dir, ...pairs] = process.argv.slice(1);
    mkdirSync(join(dir, 'vm', 'images'), { recursive: true });
    const jobs = [];
    for (let i = 0; i < pairs.length; i += 2) jobs.push({ key: pairs[i], sha256: pairs[i + 1] });
    await Promise.all(jobs.map(async ({ key }) => {
      const res = await fetch(base + key);
      await pipeline(Readable.fromWeb(res.body), createWriteStream(join(dir, key)));
    }));
    for (const { key, sha256 } of jobs) {
      const hash = createHash('sha256');
      for await (const c of createReadStream(join(dir, key), { highWaterMark: 1 << 20 })) hash.update(c);
      if (hash.digest('hex') !== sha256) throw new Error('hash mismatch for ' + key);
    }`;
  const pairs = keys.flatMap((key, i) => [key, agents[`agent${i}`].tarballs.x64.sha256]);
  const singlePassRuns = [];
  const naiveRuns = [];
  for (let round = 0; round < 2; round++) {
    const cold = join(work, `cold${round}`);
    singlePassRuns.push(
      (
        await cli([
          '--manifest-url',
          `${base}vm/manifest.json`,
          '--cache-dir',
          cold,
          '--arch',
          'x64',
        ])
      ).ms,
    );
    await rm(cold, { recursive: true, force: true });
    const naiveDir = join(work, `naive${round}`);
    started = performance.now();
    await run(process.execPath, [
      '--input-type=module',
      '-e',
      naiveScript,
      base,
      naiveDir,
      ...pairs,
    ]);
    naiveRuns.push(ms(started));
    await rm(naiveDir, { recursive: true, force: true });
  }
  const singlePass = Math.min(...singlePassRuns);
  const downloadThenHash = Math.min(...naiveRuns);
  server.close();

  const result = {
    machine: `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`,
    artifacts: `${FILES} x ${SIZE / 1024 / 1024} MiB`,
    firstSyncFromFileMs: first.ms,
    noChange: {
      projectMs: projectNoChange,
      runsMs: noChange,
      rehashEveryFileMs: naiveRehash,
      speedup: +(naiveRehash / projectNoChange).toFixed(1),
    },
    coldHttp: {
      singlePassRunsMs: singlePassRuns,
      downloadThenHashRunsMs: naiveRuns,
      singlePassMs: singlePass,
      downloadThenHashMs: downloadThenHash,
      ratio: +(downloadThenHash / singlePass).toFixed(2),
    },
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await rm(work, { recursive: true, force: true });
}
