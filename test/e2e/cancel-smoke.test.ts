import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LEFTOVERS_STATE, type Leftover } from '../../src/lib/cleanup.js';
import { hostArch } from '../../src/lib/manifest/arch.js';
import { buildSampleImage } from '../../src/lib/tarball/sample-image.js';
import { type RunningStep, startAction } from '../support/cancel.js';
import { containersMatching, imagesMatching, podman, uniqueImage } from '../support/podman.js';
import { runActionBundle } from '../support/runner.js';

/**
 * A cancelled smoke-tarball, for real: the built action runs an agent that
 * sleeps, and is cancelled while the container runs, the way the runner does it
 * (SIGINT), or killed outright (SIGKILL) and followed by its post step.
 */
const VERSION = '1.0.0';
const image = uniqueImage('cancel-smoke');
const ref = `${image}:${VERSION}`;
const arch = hostArch();
let dir: string;
let tarball: string;
const steps: RunningStep[] = [];

const inputs = () => ({
  tarball,
  agent: 'sleeper',
  arch,
  command: '/bin/agent',
  'timeout-seconds': '600',
});

function savedLeftovers(state: Record<string, string>): Leftover[] {
  return JSON.parse(state[LEFTOVERS_STATE] ?? '[]') as Leftover[];
}

/** Starts the smoke step and returns once its container is running the agent. */
async function smokeUntilRunning(): Promise<{ step: RunningStep; container: string }> {
  const step = await startAction('smoke-tarball', { cwd: dir, inputs: inputs() });
  steps.push(step);
  await step.waitFor(/running .* in vm-tools-smoke-[0-9a-f]+/);
  const container = /in (vm-tools-smoke-[0-9a-f]+)/.exec(step.output())?.[1] as string;
  await step.waitUntil(async () =>
    (await podman.logs(container).catch(() => ({ combined: '' }))).combined.includes(
      'agent sleeping',
    ),
  );
  return { step, container };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vm-tools-cancel-smoke-'));
  await buildSampleImage(podman, {
    ref,
    extraFiles: { '/bin/agent': '#!/bin/sh\necho "agent sleeping"\nsleep 600\n' },
  });
  await writeFile(
    join(dir, 'bundle.json'),
    JSON.stringify({ agents: [{ name: 'sleeper', image, version: VERSION }] }),
  );
  const built = await runActionBundle('build-tarball', {
    cwd: dir,
    inputs: { agent: 'sleeper', arch, 'output-dir': 'out', compression: 'zstd' },
  });
  expect(built.errors).toEqual([]);
  tarball = built.outputs.path as string;
  // The smoke step's load must be what creates the image, or it would rightly keep it.
  await podman.removeImage(ref, { force: true });
});

afterEach(async () => {
  for (const step of steps.splice(0)) await step.dispose();
  for (const row of await containersMatching(image)) {
    await podman.removeContainer(row.split(' ')[0] as string, { force: true }).catch(() => {});
  }
});

afterAll(async () => {
  await podman.removeImage(ref, { force: true }).catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

describe('smoke-tarball cancelled mid-run leaves no container and no image', () => {
  it('SIGINT: the step removes its container and the image it loaded, then exits 130', async () => {
    const { step, container } = await smokeUntilRunning();
    expect(await containersMatching(container)).toHaveLength(1);
    expect(await imagesMatching(image)).toEqual([ref]);

    const ended = await step.kill('SIGINT');

    expect(await containersMatching(container)).toEqual([]);
    expect(await imagesMatching(image)).toEqual([]);
    expect(ended).toEqual({ code: 130, signal: null });
    expect(step.output()).toMatch(/SIGINT: cancelled; removing 2 things this step created/);
    // Nothing left for the post step to do.
    expect(savedLeftovers(await step.state())).toEqual([]);
  });

  it('SIGKILL: main saved the container and image, and the post step removes them', async () => {
    const { step, container } = await smokeUntilRunning();
    const state = await step.state();
    const info = await podman.inspectImage(ref);

    expect(await step.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });

    // Killed: nothing in main ran, so both are still there...
    expect(await containersMatching(container)).toHaveLength(1);
    expect(await imagesMatching(image)).toEqual([ref]);
    // ...and main had named both in its saved state as soon as it created them.
    expect(savedLeftovers(state)).toEqual([
      { kind: 'image', ref, id: info.id },
      { kind: 'container', name: container },
    ]);

    const post = await runActionBundle('smoke-tarball', {
      phase: 'post',
      cwd: dir,
      inputs: inputs(),
      state,
    });

    expect(post.errors).toEqual([]);
    expect(post.exitCode).toBe(0);
    expect(post.stdout).toContain(`removed container ${container}`);
    expect(post.stdout).toContain(`removed image ${ref}`);
    expect(await containersMatching(container)).toEqual([]);
    expect(await imagesMatching(image)).toEqual([]);

    // A second post (or one after main cleaned up itself) finds nothing and still passes.
    const again = await runActionBundle('smoke-tarball', {
      phase: 'post',
      cwd: dir,
      inputs: inputs(),
      state,
    });
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain(`container ${container}: nothing to remove`);
  });

  it('post removes nothing that is not the image main loaded', async () => {
    // The name was loaded again by someone else after main died: a different image id.
    await buildSampleImage(podman, { ref });
    const post = await runActionBundle('smoke-tarball', {
      phase: 'post',
      cwd: dir,
      inputs: inputs(),
      state: {
        [LEFTOVERS_STATE]: JSON.stringify([{ kind: 'image', ref, id: 'f'.repeat(64) }]),
      },
    });
    expect(post.exitCode).toBe(0);
    expect(post.stdout).toContain(`image ${ref} (ffffffffffff): nothing to remove`);
    expect(await imagesMatching(image)).toEqual([ref]);
    await podman.removeImage(ref, { force: true });
  });
});
