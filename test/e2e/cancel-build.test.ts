import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LEFTOVERS_STATE, type Leftover } from '../../src/lib/cleanup.js';
import { hostArch } from '../../src/lib/manifest/arch.js';
import { buildSampleImage } from '../../src/lib/tarball/sample-image.js';
import { type RunningStep, startAction } from '../support/cancel.js';
import { podman, uniqueImage } from '../support/podman.js';
import { runActionBundle } from '../support/runner.js';

/**
 * A cancelled build-tarball, for real: an image with 256 MiB of random data
 * takes seconds to save and gzip, and the step is cancelled once its
 * `.partial` tarball is growing.
 */
const exec = promisify(execFile);
const VERSION = '1.0.0';
const image = uniqueImage('cancel-build');
const ref = `${image}:${VERSION}`;
const arch = hostArch();
let dir: string;
const steps: RunningStep[] = [];
const out = () => join(dir, 'out');
const partial = () => join(out(), `big-${VERSION}-${arch}.tar.gz.partial`);
const inputs = { agent: 'big', arch, 'output-dir': 'out', compression: 'gzip' };

async function sizeOf(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => -1,
  );
}

/** Processes whose command line names the image: the podman save of this step. */
async function processesNaming(fragment: string): Promise<string[]> {
  const { stdout } = await exec('ps', ['-eo', 'pid=,args=']);
  return stdout.split('\n').filter((l) => l.includes(fragment) && !l.includes('ps -eo'));
}

async function buildUntilPartialGrows(): Promise<RunningStep> {
  const step = await startAction('build-tarball', { cwd: dir, inputs });
  steps.push(step);
  await step.waitUntil(async () => (await sizeOf(partial())) > 1 << 20, 120_000);
  return step;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vm-tools-cancel-build-'));
  await buildSampleImage(podman, { ref, extraFiles: { '/data': randomBytes(256 << 20) } });
  await writeFile(
    join(dir, 'bundle.json'),
    JSON.stringify({ agents: [{ name: 'big', image, version: VERSION }] }),
  );
}, 300_000);

afterEach(async () => {
  for (const step of steps.splice(0)) await step.dispose();
  await rm(out(), { recursive: true, force: true });
});

afterAll(async () => {
  await podman.removeImage(ref, { force: true }).catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

describe('build-tarball cancelled mid-save leaves no .partial', () => {
  it('SIGINT: stops podman save, removes the .partial, exits 130', async () => {
    const step = await buildUntilPartialGrows();

    const ended = await step.kill('SIGINT');

    expect(await readdir(out())).toEqual([]);
    expect(ended).toEqual({ code: 130, signal: null });
    expect(step.output()).toMatch(/SIGINT: cancelled; removing 1 thing this step created/);
    expect(JSON.parse((await step.state())[LEFTOVERS_STATE] ?? 'null')).toEqual([]);
    // The save it started does not run on after the step.
    await step.waitUntil(async () => (await processesNaming(ref)).length === 0, 10_000);
  });

  it('SIGKILL: main saved the .partial, and the post step removes it', async () => {
    const step = await buildUntilPartialGrows();
    const state = await step.state();

    expect(await step.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });

    expect(JSON.parse(state[LEFTOVERS_STATE] ?? '[]') as Leftover[]).toEqual([
      { kind: 'file', path: partial() },
    ]);
    expect(await sizeOf(partial())).toBeGreaterThan(0);

    const post = await runActionBundle('build-tarball', { phase: 'post', cwd: dir, inputs, state });

    expect(post.errors).toEqual([]);
    expect(post.exitCode).toBe(0);
    expect(post.stdout).toContain(`removed file ${partial()}`);
    expect(await readdir(out())).toEqual([]);
  });
});
