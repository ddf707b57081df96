import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/lib/fs/hash.js';
import { hostArch } from '../../src/lib/manifest/arch.js';
import { parseManifest } from '../../src/lib/manifest/manifest.js';
import { SAMPLE_AGENTS } from '../../src/lib/release/sample.js';
import { qemuPids } from '../support/guest.js';
import { parseFileCommands, ROOT, runCliBundle } from '../support/runner.js';

const exec = promisify(execFile);
const arch = hostArch();
const env = {
  CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(ROOT, 'scripts/podman/containers.conf'),
};

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/** Runs the README's first command in a clone, the way a person on a fresh machine would. */
async function demo(clone: string, args: string[]) {
  try {
    const { stdout, stderr } = await exec(join(clone, 'scripts', 'demo'), args, {
      cwd: clone,
      env: { ...process.env, ...env },
      maxBuffer: 64 << 20,
      timeout: 280_000,
    });
    return { exitCode: 0, stdout, stderr, outputs: parseFileCommands(stdout) };
  } catch (error) {
    const e = error as { code?: number; stdout: string; stderr: string };
    return {
      exitCode: e.code ?? 1,
      stdout: e.stdout,
      stderr: e.stderr,
      outputs: parseFileCommands(e.stdout),
    };
  }
}

interface Report {
  agents: { agent: string; key: string; build: string; smoke: string; upload: string }[];
  downloaded: string[];
  vm?: {
    name: string;
    accel: string;
    bootMs: number;
    fetchedManifest: boolean;
    hostLoopbackRefused: boolean;
    gate: { verdict: string; probes: number; escapes: number; report: string };
  };
}

describe('vm-tools release (./scripts/demo from a clean clone)', () => {
  let clone: string;
  let work: string;

  beforeAll(async () => {
    clone = await mkdtemp(join(tmpdir(), 'vm-tools-clone-'));
    work = await mkdtemp(join(tmpdir(), 'vm-tools-release-'));
    await exec('git', ['clone', '--quiet', ROOT, clone]);
  }, 120_000);

  afterAll(async () => {
    await rm(clone, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('builds, smoke-tests, publishes both sample agents and hydrates a cache, byte for byte', async () => {
    const run = await demo(clone, ['--work-dir', work]);
    expect(run.stderr).not.toMatch(/^error:/m);
    expect(run.exitCode).toBe(0);
    const bucket = join(work, 'bucket');
    const cache = join(work, 'cache');
    expect(run.outputs.bucket).toBe(`file://${bucket}`);
    expect(run.outputs['cache-dir']).toBe(cache);

    const manifestBytes = await readFile(join(bucket, 'vm/manifest.json'));
    const manifest = parseManifest(manifestBytes.toString(), 'bucket manifest');
    expect(Object.keys(manifest.agents).sort()).toEqual(SAMPLE_AGENTS.map((a) => a.name).sort());
    expect(run.outputs['manifest-etag']).toBe(`"${sha256Hex(manifestBytes)}"`);
    // The cache's manifest is the bucket's, written last.
    expect(await readFile(join(cache, 'vm/manifest.json'))).toEqual(manifestBytes);

    const keys: string[] = [];
    for (const agent of SAMPLE_AGENTS) {
      const tarball = manifest.agents[agent.name]?.tarballs[arch];
      expect(tarball?.key).toBe(`vm/images/${agent.name}-${agent.version}-${arch}.tar.gz`);
      if (!tarball) continue;
      keys.push(tarball.key);
      const built = await readFile(
        join(work, 'dist/images', tarball.key.slice('vm/images/'.length)),
      );
      expect(sha256Hex(built)).toBe(tarball.sha256);
      expect(built.length).toBe(tarball.sizeBytes);
      expect(await readFile(join(bucket, tarball.key))).toEqual(built);
      expect(await readFile(join(cache, tarball.key))).toEqual(built);
      expect(await readFile(join(bucket, `${tarball.key}.sha256`), 'utf8')).toBe(
        `${tarball.sha256}  ${tarball.key.slice('vm/images/'.length)}\n`,
      );
    }
    const cached = await filesUnder(cache);
    expect(cached.filter((f) => !f.startsWith('.vm-tools'))).toEqual(
      ['vm/manifest.json', ...keys].sort(),
    );
    expect((await filesUnder(work)).filter((f) => f.endsWith('.partial'))).toEqual([]);

    const report = JSON.parse(run.outputs.report ?? '{}') as Report;
    expect(report.downloaded.sort()).toEqual(keys.sort());
    expect(report.agents.map((a) => a.smoke)).toEqual(['passed', 'passed']);
    expect(run.stderr).toContain('Release rehearsal');

    // The default guest booted, allowed only the release's HTTP server: it read the
    // published manifest byte for byte through that endpoint and not the host's loopback.
    expect(report.vm).toMatchObject({
      name: 'vm-tools-release',
      fetchedManifest: true,
      hostLoopbackRefused: true,
    });
    expect(['kvm', 'tcg']).toContain(report.vm?.accel);
    // The sandbox-escape gate ran on it and the host saw its control arrive.
    expect(report.vm?.gate).toMatchObject({ verdict: 'pass', escapes: 0 });
    expect(report.vm?.gate.probes).toBeGreaterThan(10);
    const gateReport = JSON.parse(await readFile(report.vm?.gate.report as string, 'utf8')) as {
      verdict: string;
    };
    expect(gateReport.verdict).toBe('pass');
    expect(report.vm?.bootMs).toBeGreaterThan(0);
    expect(run.stderr).toMatch(
      /vm: default guest ready in [\d.]+ s \((kvm|tcg)\); read the published manifest through its one allowed endpoint; host loopback refused; sandbox gate pass \(\d+ probes, 0 escapes; [^)]+\); deleted/,
    );
    expect(await qemuPids('vm-tools-release')).toEqual([]);
    expect(await filesUnder(join(work, 'vms'))).toEqual([]);
  }, 300_000);

  it('re-runs idempotently: nothing rebuilt, re-uploaded, rewritten or re-downloaded', async () => {
    const bucket = join(work, 'bucket');
    const files = await filesUnder(bucket);
    const before = await Promise.all(
      files.map((f) => stat(join(bucket, f)).then((s) => s.mtimeMs)),
    );
    const run = await runCliBundle(['release', '--work-dir', work, '--vm', 'false'], { env });
    expect(run.stderr).not.toMatch(/^error:/m);
    expect(run.exitCode).toBe(0);
    const report = JSON.parse(run.outputs.report ?? '{}') as Report;
    expect(report.vm).toBeUndefined();
    expect(run.stderr).toContain('vm: not booted');
    expect(report.agents.map((a) => [a.build, a.smoke, a.upload])).toEqual([
      ['unchanged', 'skipped (unchanged)', 'already there'],
      ['unchanged', 'skipped (unchanged)', 'already there'],
    ]);
    expect(report.downloaded).toEqual([]);
    expect(run.stderr).toContain('already up to date');
    const after = await Promise.all(files.map((f) => stat(join(bucket, f)).then((s) => s.mtimeMs)));
    // Only the store's conditional-write probe may be rewritten; every artifact and the manifest stay.
    const changed = files.filter((_, i) => after[i] !== before[i]);
    expect(
      changed.filter((f) => !f.includes('conditional-write-probe') && !f.startsWith('.vm-tools')),
    ).toEqual([]);
  }, 120_000);

  it('stops at a failing smoke test with its error, publishing nothing', async () => {
    const failing = await mkdtemp(join(tmpdir(), 'vm-tools-release-fail-'));
    const [agent] = SAMPLE_AGENTS;
    const bundle = join(failing, 'bundle.json');
    await writeFile(
      bundle,
      JSON.stringify({
        agents: [{ name: agent.name, image: agent.image, version: agent.version }],
      }),
    );
    const run = await runCliBundle(
      ['release', '--work-dir', failing, '--bundle', bundle, '--command', '/bin/false'],
      {
        env,
      },
    );
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(`^error: smoke-tarball ${agent.name}/${arch}: command exited with code 1`, 'm'),
    );
    expect(await filesUnder(join(failing, 'bucket'))).toEqual([]);
    expect(await filesUnder(join(failing, 'cache'))).toEqual([]);
    expect((await filesUnder(failing)).filter((f) => f.endsWith('.partial'))).toEqual([]);
    await rm(failing, { recursive: true, force: true });
  }, 120_000);

  it('stops at build-tarball when the image cannot be had, writing nothing', async () => {
    const failing = await mkdtemp(join(tmpdir(), 'vm-tools-release-fail-'));
    const bundle = join(failing, 'bundle.json');
    await writeFile(
      bundle,
      JSON.stringify({
        agents: [{ name: 'ghost', image: 'localhost/vm-tools-absent/ghost', version: '0.0.1' }],
      }),
    );
    const run = await runCliBundle(['release', '--work-dir', failing, '--bundle', bundle], { env });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^error: build-tarball ghost/${arch}: `, 'm'));
    expect(await filesUnder(join(failing, 'bucket'))).toEqual([]);
    expect(await filesUnder(join(failing, 'dist'))).toEqual([]);
    await rm(failing, { recursive: true, force: true });
  }, 120_000);

  it('refuses bad input before doing anything', async () => {
    const failing = await mkdtemp(join(tmpdir(), 'vm-tools-release-fail-'));
    const run = await runCliBundle(['release', '--work-dir', failing, '--compression', 'xz'], {
      env,
    });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toBe('error: Input "compression" must be one of gzip, zstd; got "xz".\n');
    const store = await runCliBundle(['release', '--work-dir', failing, '--store', 's3://'], {
      env,
    });
    expect(store.exitCode).toBe(2);
    expect(store.stderr).toMatch(/^error: Input "store" /);
    expect(await readdir(failing)).toEqual([]);
    await rm(failing, { recursive: true, force: true });
  });
});
