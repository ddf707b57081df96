import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import command, { hydrateCacheCli } from '../../src/commands/hydrate-cache.js';
import { UNAVAILABLE_NOTICE } from '../../src/lib/cache/actions-cache.js';
import { sha256Hex } from '../../src/lib/fs/hash.js';
import { type StaticServer, startStaticServer } from '../../src/lib/http/static-server.js';
import {
  type Bucket,
  keysOf,
  makeBucket,
  putArtifact,
  tmp,
  writeManifest,
} from '../support/bucket.js';
import { ROOT, runActionBundle, runCliBundle } from '../support/runner.js';

// Off GitHub: the cache service's variables are absent, as on any machine that is not a runner.
const OFF_GITHUB = {
  ACTIONS_RUNTIME_TOKEN: undefined,
  ACTIONS_RESULTS_URL: undefined,
  ACTIONS_CACHE_URL: undefined,
  VM_TOOLS_MANIFEST_URL: undefined,
  VM_TOOLS_CACHE_DIR: undefined,
};

let bucket: Bucket;
let server: StaticServer;
const manifestUrl = () => `${server.url}vm/manifest.json`;

beforeAll(async () => {
  bucket = await makeBucket({ openclaw: 200_000, hermes: 50_000 });
  server = await startStaticServer(bucket.root);
});
afterAll(() => server.close());

describe('hydrate-cache action (built bundle)', () => {
  it('declares in action.yml exactly the inputs, defaults and outputs of the command', async () => {
    const meta = parseYaml(
      await readFile(join(ROOT, 'actions', 'hydrate-cache', 'action.yml'), 'utf8'),
    ) as { inputs: Record<string, { default?: string }>; outputs: Record<string, unknown> };
    expect(Object.keys(meta.inputs)).toEqual(Object.keys(command.inputs));
    for (const [name, def] of Object.entries(command.inputs)) {
      expect(meta.inputs[name]?.default, name).toBe(def.default);
    }
    expect(Object.keys(meta.outputs)).toEqual(Object.keys(command.outputs));
    expect(Object.keys(hydrateCacheCli.inputs)).toEqual(
      Object.keys(command.inputs).filter((n) => n !== 'actions-cache'),
    );
  });

  it('hydrates, sets outputs and a summary, and says once that the Actions cache is unavailable', async () => {
    const cacheDir = join(await tmp('action'), 'cache');
    server.requests.length = 0;
    const run = await runActionBundle('hydrate-cache', {
      inputs: { 'manifest-url': manifestUrl(), 'cache-dir': cacheDir, arch: 'x64' },
      env: OFF_GITHUB,
    });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.outputs.downloaded ?? '')).toEqual(keysOf(bucket, 'x64'));
    expect(run.outputs).toMatchObject({
      skipped: 'false',
      'manifest-path': join(cacheDir, 'vm', 'manifest.json'),
      'cache-hit': 'false',
    });
    const notices = run.stdout.split('\n').filter((l) => l.startsWith('::notice::'));
    expect(notices).toEqual([`::notice::${UNAVAILABLE_NOTICE}`]);
    expect(run.warnings).toEqual([]);
    expect(run.summary).toContain('<h3>VM artifact cache</h3>');
    for (const key of keysOf(bucket, 'x64')) expect(run.summary).toContain(`<td>${key}</td>`);
    // The manifest that keyed the cache is the one synced: fetched once, not twice.
    expect(server.requests.filter((r) => r.path === '/vm/manifest.json')).toHaveLength(1);

    const again = await runActionBundle('hydrate-cache', {
      inputs: { 'manifest-url': manifestUrl(), 'cache-dir': cacheDir, arch: 'x64' },
      env: OFF_GITHUB,
    });
    expect(again.exitCode).toBe(0);
    expect(again.outputs).toMatchObject({
      downloaded: '[]',
      skipped: 'true',
      'cache-hit': 'false',
    });
    expect(again.summary).toContain('Already up to date');
  });

  it('with actions-cache false says nothing about the cache service', async () => {
    const cacheDir = await tmp('action');
    const run = await runActionBundle('hydrate-cache', {
      inputs: {
        'manifest-url': manifestUrl(),
        'cache-dir': cacheDir,
        arch: 'all',
        'actions-cache': 'false',
      },
      env: OFF_GITHUB,
    });
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.outputs.downloaded ?? '')).toEqual(keysOf(bucket));
    expect(run.stdout).not.toContain('::notice::');
  });

  const badInputs: [string, Record<string, string>, string][] = [
    [
      'a bad arch',
      { arch: 'arm' },
      'Input "arch" must be one of host, arm64, x64, all; got "arm".',
    ],
    [
      'a bad concurrency',
      { concurrency: '0' },
      'Input "concurrency" must be an integer from 1 to 32; got "0".',
    ],
    [
      'a missing manifest-url',
      { 'manifest-url': '' },
      'Input "manifest-url" is required: an https://, http:// or file:// URL ending in /vm/manifest.json (or set VM_TOOLS_MANIFEST_URL).',
    ],
    [
      'a manifest-url of another scheme',
      { 'manifest-url': 'ftp://cdn.example/vm/manifest.json' },
      'Input "manifest-url" must be an https://, http:// or file:// URL ending in /vm/manifest.json; got "ftp://cdn.example/vm/manifest.json".',
    ],
    [
      'a manifest-url that is not the manifest key',
      { 'manifest-url': 'https://cdn.example/manifest.json' },
      'Input "manifest-url" must be an https://, http:// or file:// URL ending in /vm/manifest.json; got "https://cdn.example/manifest.json".',
    ],
    ['a bad prune', { prune: 'yes' }, 'Input "prune" must be true or false; got "yes".'],
  ];
  for (const [what, inputs, message] of badInputs) {
    it(`fails ${what} with one sentence, before any request or write`, async () => {
      const parent = await tmp('action-bad');
      server.requests.length = 0;
      const run = await runActionBundle('hydrate-cache', {
        inputs: { 'manifest-url': manifestUrl(), 'cache-dir': join(parent, 'cache'), ...inputs },
        env: OFF_GITHUB,
      });
      expect(run.exitCode).toBe(1);
      expect(run.errors).toEqual([message]);
      expect(await readdir(parent)).toEqual([]);
      expect(server.requests).toEqual([]);
    });
  }
});

describe('vm-tools hydrate-cache (built CLI)', () => {
  it('hydrates with progress on stderr and outputs on stdout; cache-sync is an alias', async () => {
    const cacheDir = await tmp('cli');
    const run = await runCliBundle(
      [
        'hydrate-cache',
        '--manifest-url',
        manifestUrl(),
        '--cache-dir',
        cacheDir,
        '--arch',
        'arm64',
      ],
      { env: OFF_GITHUB },
    );
    expect(run.stderr).toContain(`downloaded ${keysOf(bucket, 'arm64').length} files`);
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.outputs.downloaded ?? '')).toEqual(keysOf(bucket, 'arm64'));
    expect(run.outputs['cache-hit']).toBeUndefined();
    const alias = await runCliBundle(['cache-sync', '--cache-dir', cacheDir, '--arch=arm64'], {
      env: { ...OFF_GITHUB, VM_TOOLS_MANIFEST_URL: manifestUrl() },
    });
    expect(alias.exitCode).toBe(0);
    expect(alias.outputs).toMatchObject({ downloaded: '[]', skipped: 'true' });
  });

  it('has no --actions-cache flag and rejects bad input with exit 2, writing nothing', async () => {
    const parent = await tmp('cli-bad');
    const cacheDir = join(parent, 'cache');
    const flag = await runCliBundle(
      [
        'hydrate-cache',
        '--manifest-url',
        manifestUrl(),
        '--cache-dir',
        cacheDir,
        '--actions-cache',
      ],
      { env: OFF_GITHUB },
    );
    expect(flag.exitCode).toBe(2);
    expect(flag.stderr).toBe(
      'error: Unknown flag "--actions-cache" for vm-tools hydrate-cache (see --help).\n',
    );
    const arch = await runCliBundle(
      ['hydrate-cache', '--manifest-url', manifestUrl(), '--cache-dir', cacheDir, '--arch', 'arm'],
      { env: OFF_GITHUB },
    );
    expect(arch.exitCode).toBe(2);
    expect(arch.stderr).toBe(
      'error: Input "arch" must be one of host, arm64, x64, all; got "arm".\n',
    );
    const missing = await runCliBundle(['hydrate-cache', '--cache-dir', cacheDir], {
      env: OFF_GITHUB,
    });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toBe(
      'error: Input "manifest-url" is required: an https://, http:// or file:// URL ending in /vm/manifest.json (or set VM_TOOLS_MANIFEST_URL).\n',
    );
    expect(await readdir(parent)).toEqual([]);
  });

  it('8: two processes hydrating one directory at once both succeed; every file intact, fetched once', async () => {
    const big = await makeBucket({});
    for (const agent of ['a', 'b', 'c', 'd']) {
      await putArtifact(big, agent, 'x64', randomBytes(8 << 20));
    }
    await writeManifest(big);
    const bigServer = await startStaticServer(big.root);
    try {
      const cacheDir = await tmp('two');
      const args = [
        join(ROOT, 'dist', 'cli', 'index.js'),
        'hydrate-cache',
        '--manifest-url',
        `${bigServer.url}vm/manifest.json`,
        '--cache-dir',
        cacheDir,
        '--arch',
        'x64',
        '--concurrency',
        '2',
      ];
      const runOne = () =>
        new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (d) => (stdout += d));
          child.stderr.on('data', (d) => (stderr += d));
          const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
          child.on('close', (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr });
          });
        });
      const [one, two] = await Promise.all([runOne(), runOne()]);
      expect([one.code, two.code], `${one.stderr}\n${two.stderr}`).toEqual([0, 0]);
      const downloaded = [one, two].map(
        (r) => JSON.parse(/^downloaded=(.*)$/m.exec(r.stdout)?.[1] ?? 'null') as string[],
      );
      // One of them did the work; the other waited for the lock and found it done.
      expect(downloaded.map((d) => d.length).sort()).toEqual([0, 4]);
      for (const key of keysOf(big, 'x64')) {
        expect(sha256Hex(await readFile(join(cacheDir, key)))).toBe(
          sha256Hex(big.files.get(key) as Buffer),
        );
        expect(bigServer.requests.filter((r) => r.path === `/${key}`)).toHaveLength(1);
      }
      const left = await readdir(cacheDir, { recursive: true });
      expect(left.filter((f) => f.endsWith('.partial') || f.endsWith('.lock'))).toEqual([]);
    } finally {
      await bigServer.close();
    }
  });
});
