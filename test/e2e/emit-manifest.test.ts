import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import command from '../../src/commands/emit-manifest.js';
import { CODER, NOW, OPENCLAW, releaseWorkspace } from '../support/release.js';
import { ROOT, runActionBundle, runCliBundle } from '../support/runner.js';

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

/** Every file under dir, relative, sorted: to prove a failed step left nothing behind. */
async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

describe('emit-manifest action (built bundle)', () => {
  it('writes the manifest, its outputs and a summary table of the slice', async () => {
    const dir = await releaseWorkspace([OPENCLAW, CODER]);
    const run = await runActionBundle('emit-manifest', { cwd: dir, inputs: { now: NOW } });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    const path = join(dir, 'dist', 'manifest.json');
    const text = await readFile(path, 'utf8');
    expect(run.outputs).toEqual({
      manifest: path,
      sha256: sha256(text),
      agents: '["coder","openclaw"]',
    });
    const m = JSON.parse(text);
    expect(m.updatedAt).toBe(NOW);
    const x64 = await readFile(join(dir, 'dist', 'images', 'openclaw-2026.4.12-x64.tar.gz'));
    expect(m.agents.openclaw.tarballs.x64).toEqual({
      key: 'vm/images/openclaw-2026.4.12-x64.tar.gz',
      sha256: sha256(x64),
      sizeBytes: x64.length,
    });
    expect(run.summary).toContain('<h3>Manifest slice full</h3>');
    expect(run.summary).toContain(
      '<tr><th>Agent</th><th>Version</th><th>Arch</th><th>Key</th><th>Size (bytes)</th><th>sha256</th></tr>',
    );
    for (const agent of [OPENCLAW, CODER]) {
      for (const arch of ['arm64', 'x64'] as const) {
        const t = m.agents[agent.name].tarballs[arch];
        expect(run.summary).toContain(
          `<tr><td>${agent.name}</td><td>${agent.version}</td><td>${arch}</td><td>${t.key}</td><td>${t.sizeBytes}</td><td>${t.sha256}</td></tr>`,
        );
      }
    }
  });

  it('merges one agent into a baseline served over HTTP, the summary showing only that slice', async () => {
    const dir = await releaseWorkspace([OPENCLAW, CODER]);
    const baseline = await readFile(
      (await runActionBundle('emit-manifest', { cwd: dir, inputs: { now: NOW } })).outputs
        .manifest as string,
      'utf8',
    );
    const server = createServer((req, res) => {
      if (req.url === '/vm/manifest.json') res.writeHead(200).end(baseline);
      else res.writeHead(404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const run = await runActionBundle('emit-manifest', {
        cwd: dir,
        inputs: {
          slice: 'agents:openclaw',
          'merge-from': `${base}/vm/manifest.json`,
          out: 'merged.json',
          now: '2026-04-23T00:00:00.000Z',
        },
      });
      expect(run.errors).toEqual([]);
      const merged = JSON.parse(await readFile(join(dir, 'merged.json'), 'utf8'));
      expect(merged.agents.coder).toEqual(JSON.parse(baseline).agents.coder);
      expect(run.summary).toContain('<h3>Manifest slice agents:openclaw</h3>');
      expect(run.summary).toContain('<td>openclaw</td>');
      expect(run.summary).not.toContain('<td>coder</td>');

      const missing = await runActionBundle('emit-manifest', {
        cwd: dir,
        inputs: { slice: 'agents:openclaw', 'merge-from': `${base}/vm/none.json`, out: 'x.json' },
      });
      expect(missing.exitCode).toBe(1);
      expect(missing.errors).toEqual([
        `baseline not found: ${base}/vm/none.json (pass allow-empty-baseline for a first release)`,
      ]);
      expect(await tree(dir)).not.toContain('x.json');
    } finally {
      server.close();
    }
  });

  it.each([
    [{ slice: 'vm' }, 'unknown slice: vm'],
    [{ slice: 'agents:openclaw' }, '--slice agents:openclaw requires --merge-from'],
    [
      { slice: 'agents:ghost', 'merge-from': 'dist/manifest.json' },
      'unknown agent in slice: ghost',
    ],
    [
      { 'allow-empty-baseline': 'yes' },
      'Input "allow-empty-baseline" must be true or false; got "yes".',
    ],
    [
      { now: '2026-04-22 00:00' },
      'Input "now" must be an ISO-8601 UTC time like 2026-04-22T00:00:00.000Z; got "2026-04-22 00:00".',
    ],
    [{ arches: 'arm64\namd64' }, 'Input "arches" must list arches from arm64, x64; got "amd64".'],
  ])('fails bad input %j with ::error:: and writes no file', async (inputs, message) => {
    const dir = await releaseWorkspace([OPENCLAW]);
    const before = await tree(dir);
    const run = await runActionBundle('emit-manifest', { cwd: dir, inputs });
    expect(run.exitCode).toBe(1);
    expect(run.errors).toEqual([message]);
    expect(run.outputs).toEqual({});
    expect(run.summary).toBe('');
    expect(await tree(dir)).toEqual(before);
  });

  it('fails a missing tarball naming agent/arch and path, writing no file', async () => {
    const dir = await releaseWorkspace([OPENCLAW]);
    const missing = join(dir, 'dist', 'images', 'openclaw-2026.4.12-arm64.tar.gz');
    await rm(missing);
    const before = await tree(dir);
    const run = await runActionBundle('emit-manifest', { cwd: dir, inputs: { now: NOW } });
    expect(run.errors).toEqual([`missing tarball inputs for openclaw/arm64: ${missing}`]);
    expect(await tree(dir)).toEqual(before);
  });

  it('starts fast: a missing bundle is a clear error', async () => {
    const dir = await releaseWorkspace([OPENCLAW]);
    await rm(join(dir, 'bundle.json'));
    // Fast means no deferred chunk (the AWS SDK, the lock library) loads on the way to the
    // first error: a module hook records every file the process loads.
    const loadedLog = join(dir, 'loaded.txt');
    const hook = join(dir, 'record-loads.mjs');
    await writeFile(
      hook,
      `import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
registerHooks({
  load(url, context, next) {
    appendFileSync(process.env.LOADED_LOG, url + '\\n');
    return next(url, context);
  },
});
`,
    );
    const run = await runActionBundle('emit-manifest', {
      cwd: dir,
      env: { NODE_OPTIONS: `--import ${pathToFileURL(hook).href}`, LOADED_LOG: loadedLog },
    });
    expect(run.errors).toEqual([`bundle not found: ${join(dir, 'bundle.json')}`]);
    expect(run.stderr).toBe('');
    const bundleDir = pathToFileURL(join(ROOT, 'dist', 'emit-manifest')).href;
    const loaded = (await readFile(loadedLog, 'utf8')).split('\n').filter(Boolean);
    expect(loaded.filter((url) => url.startsWith(`${bundleDir}/`))).toEqual([
      `${bundleDir}/index.js`,
    ]);
    expect(loaded.filter((url) => url.includes('node_modules'))).toEqual([]);
  });
});

describe('vm-tools emit-manifest (built CLI)', () => {
  it('documents every flag in --help', async () => {
    const r = await runCliBundle(['emit-manifest', '--help']);
    expect(r.exitCode).toBe(0);
    for (const [name, def] of Object.entries(command.inputs)) {
      expect(r.stdout).toContain(`--${name}`);
      expect(r.stdout).toContain(def.description);
    }
    for (const output of Object.keys(command.outputs)) expect(r.stdout).toContain(output);
  });

  it('writes the same bytes as the action for the same inputs', async () => {
    const dir = await releaseWorkspace([OPENCLAW, CODER], { compression: 'zstd' });
    const action = await runActionBundle('emit-manifest', {
      cwd: dir,
      inputs: { now: NOW, out: 'from-action.json', arches: 'x64' },
    });
    const cli = await runCliBundle(
      ['emit-manifest', '--now', NOW, '--out=from-cli.json', '--arches', 'x64'],
      { cwd: dir },
    );
    expect(cli.stderr).not.toContain('error');
    expect(cli.exitCode).toBe(0);
    const fromAction = await readFile(join(dir, 'from-action.json'));
    const fromCli = await readFile(join(dir, 'from-cli.json'));
    expect(fromCli.equals(fromAction)).toBe(true);
    expect(cli.outputs.sha256).toBe(action.outputs.sha256);
    expect(cli.outputs.agents).toBe(action.outputs.agents);
    expect(JSON.parse(fromCli.toString()).agents.openclaw.tarballs.x64.key).toMatch(/\.tar\.zst$/);
  });

  it.each([
    [['--slice', 'vm'], 'unknown slice: vm'],
    [['--slice', 'agents:openclaw'], '--slice agents:openclaw requires --merge-from'],
    [
      ['--allow-empty-baseline=maybe'],
      'Input "allow-empty-baseline" must be true or false; got "maybe".',
    ],
    [['--bogus', '1'], 'Unknown flag "--bogus" for vm-tools emit-manifest (see --help).'],
  ])('exits 2 on bad input %j and writes no file', async (args, message) => {
    const dir = await releaseWorkspace([OPENCLAW]);
    const before = await tree(dir);
    const r = await runCliBundle(['emit-manifest', ...args], { cwd: dir });
    expect(r).toMatchObject({ exitCode: 2, stdout: '', stderr: `error: ${message}\n` });
    expect(await tree(dir)).toEqual(before);
  });
});
