#!/usr/bin/env node
// `npm run bench`: runs every bench/*.mjs in turn (each prints the project's way
// vs the naive way and their ratio). `npm run bench -- store` runs the matching ones.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const filter = process.argv.slice(2);
const benches = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs')
  .filter((f) => filter.length === 0 || filter.some((word) => f.includes(word)))
  .sort();
let failed = 0;
for (const file of benches) {
  console.log(`\n### ${file}`);
  const { status } = spawnSync(process.execPath, [join(import.meta.dirname, file)], { stdio: 'inherit' });
  if (status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
