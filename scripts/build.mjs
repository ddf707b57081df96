#!/usr/bin/env node
// Regenerates every bundle in dist/ (or in --out DIR): one per action, plus the CLI.
import { spawn } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'dist' } } });
const out = values.out;

const actions = (await readdir('src/actions'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3));
const entries = [
  ...actions.map((name) => ({ name, src: `src/actions/${name}.ts` })),
  { name: 'cli', src: 'src/cli.ts' },
];

function ncc({ name, src }) {
  return new Promise((resolve, reject) => {
    const args = [
      'build',
      src,
      '--out',
      join(out, name),
      '--minify',
      '--quiet',
      '--target',
      'es2024',
    ];
    const child = spawn(process.execPath, ['node_modules/@vercel/ncc/dist/ncc/cli.js', ...args], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`ncc failed for ${src} (exit ${code})`)),
    );
  });
}

await rm(out, { recursive: true, force: true });
// Two at a time: ncc is CPU-bound and these machines have two cores.
const queue = [...entries];
await Promise.all(
  [0, 1].map(async () => {
    for (let entry = queue.shift(); entry; entry = queue.shift()) await ncc(entry);
  }),
);
console.log(`built ${entries.map((e) => e.name).join(', ')} into ${out}/`);
