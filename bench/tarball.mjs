#!/usr/bin/env node
// Benchmark: build-tarball's single pass (podman save | compress | sha256 -> file)
// against what a shell script does (podman save to a file, then compress it, then
// sha256 it) and against the floor (`podman save > /dev/null`), for gzip and zstd.
// Builds a ~1 GiB image locally (busybox rootfs + half random, half compressible
// data; BENCH_MIB to change), runs each variant once, prints the times and ratios,
// and removes the image. Needs podman, pigz, zstd, busybox-static and `npm run build`.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
process.env.CONTAINERS_CONF ??= join(ROOT, 'scripts', 'podman', 'containers.conf');
const MIB = Number(process.env.BENCH_MIB ?? 1024);
const ref = `localhost/vmt-bench-${randomBytes(3).toString('hex')}:1.0.0`;
const work = mkdtempSync(join(tmpdir(), 'vm-tools-bench-'));
const sh = (script) => {
  const r = spawnSync('bash', ['-c', `set -euo pipefail; ${script}`], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`failed: ${script}`);
};
const timed = (label, fn) => {
  const t = performance.now();
  fn();
  const ms = performance.now() - t;
  console.error(`${label}: ${(ms / 1000).toFixed(1)} s`);
  return ms;
};

function makeImage() {
  const rootfs = join(work, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  mkdirSync(join(rootfs, 'data'));
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  symlinkSync('busybox', join(rootfs, 'bin', 'sh'));
  const words = Array.from({ length: 4096 }, () => randomBytes(4).toString('hex'));
  for (let i = 0; i < MIB / 16; i++) {
    const file = join(rootfs, 'data', `part-${i}`);
    if (i % 2 === 0) writeFileSync(file, randomBytes(16 << 20));
    else {
      // Text-like: a small vocabulary in random order compresses roughly 3:1.
      const buf = Buffer.alloc(16 << 20);
      let off = 0;
      while (off < buf.length)
        off += buf.write(`${words[(Math.random() * words.length) | 0]} `, off);
      writeFileSync(file, buf);
    }
  }
  sh(`tar -C '${rootfs}' -c . | podman import -q - '${ref}' >/dev/null`);
  rmSync(rootfs, { recursive: true, force: true });
}

const results = {};
const loadBefore = (await import('node:os'))
  .loadavg()
  .map((l) => l.toFixed(1))
  .join(' ');
try {
  timed(`creating a ${MIB} MiB image ${ref}`, makeImage);
  writeFileSync(
    join(work, 'bundle.json'),
    JSON.stringify({ agents: [{ name: 'bench', image: ref.split(':')[0], version: '1.0.0' }] }),
  );
  // The same archive formats build-tarball uses (see archiveFormatFor).
  const saves = {
    gzip: `podman save --format oci-archive --uncompressed -- '${ref}'`,
    zstd: `podman save --format docker-archive -- '${ref}'`,
  };
  results['floor-gzip'] = timed('floor: podman save --format oci-archive > /dev/null', () =>
    sh(`${saves.gzip} > /dev/null`),
  );
  results['floor-zstd'] = timed('floor: podman save (docker-archive) > /dev/null', () =>
    sh(`${saves.zstd} > /dev/null`),
  );
  for (const [compression, ext, tool] of [
    ['gzip', 'tar.gz', 'gzip -6'],
    ['zstd', 'tar.zst', 'zstd -q -3'],
  ]) {
    const save = saves[compression];
    const out = join(work, `out-${compression}`);
    results[`ours-${compression}`] = timed(`build-tarball --compression ${compression}`, () => {
      execFileSync(
        process.execPath,
        [
          join(ROOT, 'dist', 'cli', 'index.js'),
          'build-tarball',
          '--agent',
          'bench',
          '--arch',
          'x64',
          '--pull',
          'never',
          '--compression',
          compression,
          '--output-dir',
          out,
        ],
        { cwd: work, stdio: ['ignore', 'ignore', 'ignore'] },
      );
    });
    results[`size-${compression}`] = statSync(join(out, `bench-1.0.0-x64.${ext}`)).size;
    rmSync(out, { recursive: true, force: true });
    const file = join(work, 'image.tar');
    results[`script-${compression}`] = timed(`script: save to file, ${tool}, sha256sum`, () =>
      sh(
        `${save} > '${file}'; ${tool} '${file}'; rm -f '${file}'; sha256sum '${file}'.* > /dev/null; rm -f '${file}'.*`,
      ),
    );
    const parallel = compression === 'gzip' ? 'pigz -6' : 'zstd -q -3 -T0';
    results[`pipe-${compression}`] = timed(
      `shell one pass: save | ${parallel} | tee | sha256sum`,
      () =>
        sh(`${save} | ${parallel} | tee '${file}.x' | sha256sum > /dev/null; rm -f '${file}.x'`),
    );
  }
} finally {
  spawnSync('podman', ['rmi', '--force', '--', ref], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}

const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
const x = (a, b) => `${(a / b).toFixed(2)}x`;
console.log(
  `image: ${MIB} MiB of data (half random, half text-like); ${execFileSync('nproc').toString().trim()} cores; load average before: ${loadBefore}`,
);
for (const c of ['gzip', 'zstd']) {
  const ours = results[`ours-${c}`];
  console.log(
    `${c.padEnd(5)} floor ${s(results[`floor-${c}`])} | build-tarball ${s(ours)} (${(results[`size-${c}`] / 2 ** 20).toFixed(0)} MiB) = ${x(ours, results[`floor-${c}`])} the floor | sequential script ${s(results[`script-${c}`])} = ${x(results[`script-${c}`], ours)} build-tarball | shell one-pass pipe ${s(results[`pipe-${c}`])}`,
  );
}
