#!/usr/bin/env node
// Cold start of every built bundle: wall time from spawning `node dist/<x>/index.js`
// to its exit, run in an empty directory with no inputs, so each one stops at its
// first clear error (emit-manifest: "bundle not found"). Every workflow step pays it.
// Usage: node bench/cold-start.mjs [runs]   (default 11; prints medians: wall, CPU user+sys)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const runs = Number(process.argv[2] ?? 11);
const dir = mkdtempSync(join(tmpdir(), 'vm-tools-cold-'));

// bash's `time` reports the child's CPU (user + sys) as well as wall time: on a
// shared machine the wall time swings with the load, the CPU time much less.
const TIMED = 'TIMEFORMAT="%3R %3U %3S"; { time "$@" >"$OUT" 2>&1; } 2>"$OUT.time"';

function time(args, env) {
  const wall = [];
  const cpu = [];
  const out = join(dir, 'out');
  for (let i = 0; i < runs; i++) {
    spawnSync('bash', ['-c', TIMED, 'bash', process.execPath, ...args], {
      cwd: dir,
      env: { ...env, OUT: out },
      timeout: 30_000,
    });
    const [real, user, sys] = readFileSync(`${out}.time`, 'utf8').trim().split(' ').map(Number);
    wall.push(real * 1000);
    cpu.push((user + sys) * 1000);
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const first = readFileSync(out, 'utf8').split('\n').find(Boolean) ?? '';
  return { wall: median(wall), min: Math.min(...wall), cpu: median(cpu), first };
}

function runnerEnv() {
  const env = { ...process.env, GITHUB_ACTIONS: 'true', RUNNER_TEMP: join(dir, 'runner') };
  for (const name of ['GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY', 'GITHUB_PATH']) {
    env[name] = join(dir, name);
    writeFileSync(env[name], '');
  }
  return env;
}

try {
  const rows = [['node -e 0 (floor)', time(['-e', '0'], process.env)]];
  for (const name of readdirSync(join(root, 'dist')).sort()) {
    const bundle = join(root, 'dist', name, 'index.js');
    if (!existsSync(bundle)) continue;
    const args = name === 'cli' ? [bundle, '--version'] : [bundle];
    rows.push([`dist/${name}${name === 'cli' ? ' --version' : ''}`, time(args, runnerEnv())]);
  }
  console.log(
    `cold start, median of ${runs} runs (node ${process.version}, ${cpus().length} cores, ${process.arch}, load ${loadavg()[0].toFixed(1)})`,
  );
  console.log(
    `  ${'bundle'.padEnd(26)} ${'wall'.padStart(7)} ${'min'.padStart(7)} ${'cpu'.padStart(7)}  first line`,
  );
  const ms = (n) => `${n.toFixed(0)} ms`.padStart(7);
  for (const [label, r] of rows) {
    console.log(
      `  ${label.padEnd(26)} ${ms(r.wall)} ${ms(r.min)} ${ms(r.cpu)}  ${r.first.slice(0, 60)}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
