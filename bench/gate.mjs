#!/usr/bin/env node
// The sandbox gate's probe set against the default qemu guest under software
// emulation (TCG), the probes run two ways on the same VM, alternating:
//   parallel   - every probe a background job at once (the product);
//   sequential - one probe after another (VM_TOOLS_BENCH_GATE_SEQUENTIAL=1).
// Reports the guest-side probe time and the whole gate's wall time (canaries up,
// runtime in and checked, probes, verdict) from the JSON report.
// Usage: node bench/gate.mjs [runs-per-variant]   (default 3; needs npm run build)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'index.js');
if (!existsSync(cli)) {
  console.error('bench/gate.mjs: run npm run build first');
  process.exit(1);
}
const runs = Number(process.argv[2] ?? 3);
const scratch = mkdtempSync(join(tmpdir(), 'vm-tools-bench-gate-'));
const stateDir = join(scratch, 'state');

// The allowed endpoint (the positive control). spawnSync blocks this process's
// event loop, so the server runs in a child of its own.
const server = `require('node:http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;
const control = spawn(process.execPath, ['-e', server], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((r) =>
  control.stdout.once('data', (d) => r(Number(String(d).trim()))),
);

function vmTools(args, env = {}, okCodes = [0]) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (!okCodes.includes(r.status))
    throw new Error(`vm-tools ${args.join(' ')} failed: ${r.stderr}`);
  return Object.fromEntries(
    r.stdout
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

const name = `bench-gate-${process.pid}`;
const variants = { parallel: {}, sequential: { VM_TOOLS_BENCH_GATE_SEQUENTIAL: '1' } };
const results = Object.fromEntries(Object.keys(variants).map((v) => [v, { probe: [], gate: [] }]));
let probes = 0;
try {
  console.log(`load average at start: ${load()}`);
  const boot = vmTools([
    'boot-vm',
    '--name',
    name,
    '--accel',
    'tcg',
    '--memory',
    '256',
    '--allow',
    `127.0.0.1:${port}`,
    '--keep',
    '--state-dir',
    stateDir,
  ]);
  console.log(`default guest booted in ${boot['boot-ms']} ms (TCG)`);
  for (let i = 0; i < runs; i++) {
    for (const [variant, env] of Object.entries(variants)) {
      const report = join(scratch, `${variant}-${i}.json`);
      const started = performance.now();
      const out = vmTools(
        [
          'sandbox-gate',
          '--name',
          name,
          '--allow',
          `127.0.0.1:${port}`,
          '--state-dir',
          stateDir,
          '--report',
          report,
        ],
        env,
      );
      const wall = Math.round(performance.now() - started);
      const r = JSON.parse(readFileSync(report, 'utf8'));
      if (out.verdict !== 'pass') throw new Error(`${variant}: verdict ${out.verdict}`);
      probes = r.probes.length;
      results[variant].probe.push(Math.round(r.probeMs));
      results[variant].gate.push(wall);
      console.log(
        `${variant.padEnd(10)} run ${i + 1}: ${probes} probes in ${Math.round(r.probeMs)} ms, whole step ${wall} ms (load ${load()})`,
      );
    }
  }
} finally {
  spawnSync(process.execPath, [cli, 'vm-delete', '--name', name, '--state-dir', stateDir]);
  control.kill();
  rmSync(scratch, { recursive: true, force: true });
}
console.log(
  `\n| variant (${probes} probes, TCG guest) | median probe time (ms) | median whole step (ms) |`,
);
console.log('| --- | --- | --- |');
for (const [variant, r] of Object.entries(results))
  console.log(`| ${variant} | ${median(r.probe)} | ${median(r.gate)} |`);
const ratio = (k) => (median(results.sequential[k]) / median(results.parallel[k])).toFixed(1);
console.log(`sequential / parallel: probes ${ratio('probe')}x, whole step ${ratio('gate')}x`);
console.log(`load average at end: ${load()}`);
