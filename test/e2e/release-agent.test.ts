import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostArch } from '../../src/lib/manifest/arch.js';
import { buildSampleImage } from '../../src/lib/tarball/sample-image.js';
import { runComposite, type StandIn } from '../support/composite.js';
import { containersMatching, podman, removeImages, uniqueImage } from '../support/podman.js';

/**
 * actions/release-agent run the way the runner runs a composite (GitHub's own
 * expression evaluator, implicit success() on every if:, per-step outputs) on real
 * podman, with the built CLI at the action's own path.
 */

const VERSION = '1.0.0';
const image = uniqueImage('relagent');
const arch = hostArch();
let dir: string;
let artifacts: string;

/** actions/upload-artifact with `archive: false`: one file under its artifact name. */
const uploadArtifact: StandIn = async (given) => {
  expect(given.archive).toBe('false');
  const target = join(artifacts, given.name as string);
  await mkdir(target, { recursive: true });
  await copyFile(given.path as string, join(target, basename(given.path as string)));
  return undefined;
};
const standIns = {
  'actions/setup-node': async () => undefined,
  'actions/upload-artifact': uploadArtifact,
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmt-relagent-'));
  artifacts = join(dir, 'artifacts');
  await buildSampleImage(podman, {
    ref: `${image}:${VERSION}`,
    extraFiles: { '/bin/agent': '#!/bin/sh\necho "relagent $1 ready"\n' },
  });
  await writeFile(
    join(dir, 'bundle.json'),
    JSON.stringify({ agents: [{ name: 'relagent', image, version: VERSION }] }),
  );
});

afterAll(async () => {
  await removeImages(image);
  await rm(dir, { recursive: true, force: true });
});

describe('actions/release-agent (composite)', () => {
  it('builds, smoke-tests and uploads one agent × arch, with outputs mapped from its steps', async () => {
    const run = await runComposite('release-agent', {
      cwd: dir,
      inputs: {
        agent: 'relagent',
        arch,
        command: '/bin/agent\nv1',
        expect: '^relagent v1 ready',
        'upload-artifact': 'true',
      },
      standIns,
    });
    expect(run.stderr).not.toContain('error:');
    expect(run.exitCode).toBe(0);
    expect(run.steps.map((s) => s.outcome)).toEqual([
      'success',
      'success',
      'success',
      'success',
      'success',
    ]);
    const path = join(dir, 'dist', 'images', `relagent-${VERSION}-${arch}.tar.gz`);
    const bytes = await readFile(path);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    expect(run.outputs).toEqual({
      path,
      key: `vm/images/relagent-${VERSION}-${arch}.tar.gz`,
      sha256,
      'size-bytes': String(bytes.length),
      artifact: `tarball-relagent-${arch}`,
    });
    const uploaded = join(artifacts, `tarball-relagent-${arch}`, basename(path));
    expect(
      createHash('sha256')
        .update(await readFile(uploaded))
        .digest('hex'),
    ).toBe(sha256);
    expect(await containersMatching(image)).toEqual([]);
  });

  it('stops at a failing smoke test: nothing is uploaded and the step fails', async () => {
    await rm(artifacts, { recursive: true, force: true });
    const run = await runComposite('release-agent', {
      cwd: dir,
      inputs: {
        agent: 'relagent',
        arch,
        command: '/bin/agent\nv1',
        expect: '^something else',
        'upload-artifact': 'true',
      },
      standIns,
    });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('error: output does not match /^something else/');
    expect(run.steps.map((s) => s.outcome)).toEqual([
      'success',
      'success',
      'failure',
      'skipped',
      'skipped',
    ]);
    expect(run.outputs.artifact).toBe('');
    await expect(readdir(artifacts)).rejects.toThrow(/ENOENT/);
    expect(await containersMatching(image)).toEqual([]);
  });
});
