#!/usr/bin/env node
// Fails when the committed dist/ differs from a fresh build of the sources.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const fresh = mkdtempSync(join(tmpdir(), 'vm-tools-dist-'));
try {
  const build = spawnSync(process.execPath, ['scripts/build.mjs', '--out', fresh], {
    stdio: 'inherit',
  });
  if (build.status !== 0) process.exit(build.status ?? 1);
  const list = (dir) =>
    readdirSync(dir, { recursive: true })
      .map(String)
      .filter((f) => statSync(join(dir, f)).isFile())
      .sort();
  const committed = list('dist');
  const built = list(fresh);
  const stale = [
    ...built.filter((f) => !committed.includes(f)).map((f) => `missing in dist/: ${f}`),
    ...committed.filter((f) => !built.includes(f)).map((f) => `not built any more: dist/${f}`),
    ...built
      .filter((f) => committed.includes(f))
      .filter((f) => !readFileSync(join('dist', f)).equals(readFileSync(join(fresh, f))))
      .map((f) => `differs from a fresh build: dist/${f}`),
  ];
  if (stale.length) {
    console.error(`dist/ is stale; run npm run build and commit dist/:\n  ${stale.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`dist ok: ${built.length} files match a fresh build (${relative('.', fresh)})`);
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
