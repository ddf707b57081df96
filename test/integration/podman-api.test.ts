import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiPodman } from '../../src/lib/podman/api.js';
import { PodmanError } from '../../src/lib/podman/errors.js';
import { buildTarball } from '../../src/lib/tarball/build.js';
import { buildSampleImage } from '../../src/lib/tarball/sample-image.js';
import { smokeTarball } from '../../src/lib/tarball/smoke.js';
import {
  containersMatching,
  imagesMatching,
  podman,
  removeImages,
  uniqueImage,
} from '../support/podman.js';
import { runActionBundle } from '../support/runner.js';

const VERSION = '2.0.0';
const image = uniqueImage('api');
const ref = `${image}:${VERSION}`;
let dir: string;
let socket: string;
let service: ChildProcess;
let api: ApiPodman;
let tarball: string;

async function kindOf(promise: Promise<unknown>): Promise<[string, boolean]> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(PodmanError);
    return [(error as PodmanError).kind, (error as PodmanError).retryable];
  }
  throw new Error('expected a PodmanError');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vm-tools-podman-api-'));
  socket = join(dir, 'podman.sock');
  service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
    stdio: 'ignore',
  });
  api = new ApiPodman({ socketPath: socket, requestTimeoutMs: 60_000 });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await new ApiPodman({ socketPath: socket }).apiVersion();
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await buildSampleImage(podman, {
    ref,
    extraFiles: { '/bin/agent': '#!/bin/sh\necho "api agent ok"\necho "to stderr" >&2\n' },
  });
  await writeFile(
    join(dir, 'bundle.json'),
    JSON.stringify({ agents: [{ name: 'apiagent', image, version: VERSION }] }),
  );
});

afterAll(async () => {
  if (service.exitCode === null) service.kill('SIGTERM');
  await removeImages(image);
  await rm(dir, { recursive: true, force: true });
});

describe('libpod API transport against a real podman system service', () => {
  it('pings for the versioned path and reports the version', async () => {
    const apiVersion = await api.apiVersion();
    expect(apiVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(await api.version()).toBe(await podman.version());
  });

  it('saves through the API in one pass, then streams the tarball back in with load', async () => {
    const built = await buildTarball({
      podman: api,
      name: 'apiagent',
      image,
      version: VERSION,
      arch: 'x64',
      outputDir: join(dir, 'out'),
      pull: 'never',
      compression: 'gzip',
    });
    tarball = built.path;
    expect(built.imageRef).toBe(ref);
    await api.removeImage(ref, { force: true });
    expect(await api.imageExists(ref)).toBe(false);
    const { createReadStream } = await import('node:fs');
    const names = await api.load(createReadStream(tarball));
    expect(names).toEqual([ref]);
    const info = await api.inspectImage(ref);
    expect(info.id).toBe(built.imageId);
    expect(info.architecture).toBe('amd64');
  });

  it('creates, starts, execs (exit code, split stdout/stderr), logs, lists and removes', async () => {
    const name = `vmt-api-${Date.now()}`;
    const id = await api.createContainer({
      image: ref,
      command: ['sh', '-c', 'echo hello; echo oops >&2; sleep 60'],
      network: 'none',
      name,
      labels: { 'vm-tools.test': name },
    });
    try {
      await api.startContainer(id);
      const exec = await api.exec(id, ['sh', '-c', 'echo out; echo err >&2; exit 7']);
      expect(exec).toEqual({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });
      const logs = await api.logs(id);
      expect(logs.stdout).toBe('hello\n');
      expect(logs.stderr).toBe('oops\n');
      const followed: string[] = [];
      const abort = new AbortController();
      const following = api.followLogs(
        id,
        (chunk, stream) => {
          followed.push(`${stream}:${chunk}`);
          if (followed.length === 2) abort.abort();
        },
        abort.signal,
      );
      await following;
      expect(followed.sort()).toEqual(['stderr:oops\n', 'stdout:hello\n']);
      const listed = await api.listContainers({ all: true, label: `vm-tools.test=${name}` });
      expect(listed.map((c) => c.id)).toEqual([id]);
      expect((await api.inspectContainer(name)).state).toBe('running');
      // 409: the image is in use by a container; 4.3's 500 for a reused name maps to conflict too.
      expect(await kindOf(api.removeImage(ref))).toEqual(['conflict', false]);
      expect(
        await kindOf(api.createContainer({ image: ref, command: ['true'], network: 'none', name })),
      ).toEqual(['conflict', false]);
      await api.stopContainer(id, { timeoutSeconds: 0 });
      expect((await api.inspectContainer(id)).state).toBe('exited');
    } finally {
      await api.removeContainer(id, { force: true });
    }
    expect(await kindOf(api.inspectContainer(id))).toEqual(['not_found', false]);
    expect(await kindOf(api.inspectImage(`${image}-nope:1`))).toEqual(['not_found', false]);
  });

  it('waits with a timeout as a typed, retryable error', async () => {
    const id = await api.createContainer({ image: ref, command: ['sleep', '60'], network: 'none' });
    try {
      await api.startContainer(id);
      expect(await kindOf(api.waitContainer(id, { timeoutMs: 500 }))).toEqual(['timeout', true]);
    } finally {
      await api.removeContainer(id, { force: true });
    }
  });

  it('smokes the tarball through the API socket (action input podman-socket)', async () => {
    await removeImages(image);
    const run = await runActionBundle('smoke-tarball', {
      cwd: dir,
      inputs: {
        tarball,
        agent: 'apiagent',
        arch: 'x64',
        command: '/bin/agent',
        expect: 'api agent ok[\\s\\S]*to stderr',
        'podman-socket': socket,
      },
    });
    expect(run.errors).toEqual([]);
    expect(run.outputs['loaded-ref']).toBe(ref);
    expect(await imagesMatching(image)).toEqual([]);
    expect(await containersMatching(image)).toEqual([]);
  });

  it('cleans up through the API after a timeout too', async () => {
    await expect(
      smokeTarball({
        podman: api,
        tarball,
        image,
        version: VERSION,
        arch: 'x64',
        command: ['sh', '-c', 'echo waiting; sleep 60'],
        timeoutSeconds: 1,
        network: 'none',
        keepImage: false,
      }),
    ).rejects.toThrow(/^command timed out after 1 s; output tail:\nwaiting$/);
    expect(await imagesMatching(image)).toEqual([]);
    expect(await containersMatching(image)).toEqual([]);
  });

  it('maps a socket that is gone to transport_unavailable', async () => {
    const gone = new ApiPodman({ socketPath: join(dir, 'missing.sock') });
    expect(await kindOf(gone.version())).toEqual(['transport_unavailable', true]);
    service.kill('SIGTERM');
    await new Promise((r) => service.once('exit', r));
    await rm(socket, { force: true });
    expect(await kindOf(api.imageExists(ref))).toEqual(['transport_unavailable', true]);
  });
});
