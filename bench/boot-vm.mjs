#!/usr/bin/env node
// Boot-to-ready of the default qemu guest under software emulation (TCG), with
// readiness detected two ways on the same guest, alternating runs:
//   announce - the host waits on the agent socket for the agent's READY line (the product);
//   poll-2s  - the host looks every 2 s (connect + handshake, 200 ms wait), a
//              typical sleep-and-poll loop (VM_TOOLS_BENCH_READY_POLL_MS=2000).
// Detection delay = host time readiness was seen - host time the agent came up.
// The agent stamps READY with its uptime; right after detection the host asks
// for the uptime again, which maps guest uptime onto the host clock to within
// that answer's one-way latency (a few ms).
// Usage: node bench/boot-vm.mjs [runs-per-variant]   (default 3; needs npm run build)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'index.js');
if (!existsSync(cli)) {
  console.error('bench/boot-vm.mjs: run npm run build first');
  process.exit(1);
}
const runs = Number(process.argv[2] ?? 3);
const stateDir = mkdtempSync(join(tmpdir(), 'vm-tools-bench-vm-'));

function vmTools(args, env = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`vm-tools ${args.join(' ')} failed: ${r.stderr}`);
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

const started = performance.now();
const guest = vmTools(['build-guest']);
console.log(
  `default guest ${guest.key} (${guest.cached === 'true' ? 'cached' : 'built'} in ${Math.round(performance.now() - started)} ms)`,
);
console.log(`load average at start: ${load()}`);

const variants = { announce: {}, 'poll-2s': { VM_TOOLS_BENCH_READY_POLL_MS: '2000' } };
const results = Object.fromEntries(
  Object.keys(variants).map((v) => [v, { boot: [], delay: [], agentUp: [] }]),
);
try {
  for (let i = 0; i < runs; i++) {
    for (const [variant, env] of Object.entries(variants)) {
      const name = `bench-${variant}-${process.pid}-${i}`;
      const out = vmTools(
        ['boot-vm', '--name', name, '--accel', 'tcg', '--state-dir', stateDir],
        env,
      );
      const { state } = JSON.parse(readFileSync(out['state-file'], 'utf8'));
      vmTools(['vm-delete', '--name', name, '--state-dir', stateDir]);
      const agentUp = state.agentUpAtMs - state.launchedAtMs;
      const delay = state.readyAtMs - state.agentUpAtMs;
      const r = results[variant];
      r.boot.push(Number(out['boot-ms']));
      r.agentUp.push(agentUp);
      r.delay.push(delay);
      console.log(
        `${variant.padEnd(8)} run ${i + 1}: boot-to-ready ${out['boot-ms']} ms, agent up ${agentUp} ms after launch, detected ${delay} ms later (load ${load()})`,
      );
    }
  }
} finally {
  rmSync(stateDir, { recursive: true, force: true });
}
console.log(
  '\n| variant | median boot-to-ready (ms) | median agent up (ms after launch) | median detection delay (ms) |',
);
console.log('| --- | --- | --- | --- |');
for (const [variant, r] of Object.entries(results))
  console.log(
    `| ${variant} | ${median(r.boot)} | ${Math.round(median(r.agentUp))} | ${Math.round(median(r.delay))} |`,
  );
console.log(`load average at end: ${load()}`);
