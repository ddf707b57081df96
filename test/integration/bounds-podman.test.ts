import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MiB, OUTPUT_TAIL_BYTES, STDERR_TAIL_BYTES } from '../../src/lib/limits.js';
import { ApiPodman } from '../../src/lib/podman/api.js';
import { CliPodman } from '../../src/lib/podman/cli.js';
import { PodmanError } from '../../src/lib/podman/errors.js';
import type { Podman } from '../../src/lib/podman/transport.js';
import { buildSampleImage } from '../../src/lib/tarball/sample-image.js';
import { tmp } from '../support/bucket.js';
import { podman, removeImages, uniqueImage } from '../support/podman.js';

const PRINTED = 4 * MiB;
/** 1 KiB lines: conmon logs line by line, and millions of short lines take minutes. */
const LINE = `${'0'.repeat(1023)}\n`;
const PRINT = `busybox yes "$(busybox printf '%01023d' 0)" | head -c ${PRINTED}`;
const image = uniqueImage('bounds');
const ref = `${image}:1.0.0`;

/** An archive source that sends `first` (if any) and then stalls. */
function stalled(first?: Buffer): Readable {
  const stream = new Readable({ read() {} });
  if (first) stream.push(first);
  return stream;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function failure(promise: Promise<unknown>): Promise<PodmanError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PodmanError);
  return error as PodmanError;
}

describe('container output is kept as a tail (real podman)', () => {
  let dir: string;
  let service: ChildProcess | undefined;
  let api: ApiPodman;
  const containers: string[] = [];
  beforeAll(async () => {
    dir = await tmp('bounds-podman');
    await buildSampleImage(podman, { ref });
    const socket = join(dir, 'podman.sock');
    service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
      stdio: 'ignore',
    });
    api = new ApiPodman({ socketPath: socket });
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await api.apiVersion();
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  });
  afterAll(async () => {
    for (const id of containers) await podman.removeContainer(id, { force: true }).catch(() => {});
    await removeImages(image);
    if (service?.pid) process.kill(service.pid, 'SIGTERM');
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs `script` in a fresh container to completion; returns its name. */
  async function ran(script: string): Promise<string> {
    const name = `vmt-bounds-${randomBytes(4).toString('hex')}`;
    containers.push(name);
    await podman.createContainer({
      image: ref,
      command: ['sh', '-c', script],
      network: 'none',
      name,
    });
    await podman.startContainer(name);
    expect(await podman.waitContainer(name, { timeoutMs: 60_000 })).toBe(0);
    return name;
  }

  const transports: [string, () => Podman][] = [
    ['CLI', () => podman],
    ['libpod API', () => api],
  ];

  it.each(transports)(
    'logs of 4 MiB through the %s: only the last 1 MiB, ending where the container ended',
    async (_name, transport) => {
      const name = await ran(`${PRINT}; echo END-OF-OUTPUT`);
      const logs = await transport().logs(name);
      for (const text of [logs.stdout, logs.combined]) {
        expect(Buffer.byteLength(text)).toBeLessThanOrEqual(OUTPUT_TAIL_BYTES);
        expect(Buffer.byteLength(text)).toBeGreaterThan(OUTPUT_TAIL_BYTES - 16);
        expect(text.endsWith(`${LINE}END-OF-OUTPUT\n`)).toBe(true);
      }
      expect(logs.droppedBytes).toBe(PRINTED + 'END-OF-OUTPUT\n'.length - OUTPUT_TAIL_BYTES);
    },
  );

  it.each(transports)(
    'exec printing 4 MiB to stderr through the %s: the tail, and its exit code',
    async (_name, transport) => {
      const name = `vmt-bounds-${randomBytes(4).toString('hex')}`;
      containers.push(name);
      await podman.createContainer({ image: ref, command: ['sleep', '60'], network: 'none', name });
      await podman.startContainer(name);
      const result = await transport().exec(name, [
        'sh',
        '-c',
        `${PRINT} >&2; echo LAST-LINE >&2; exit 3`,
      ]);
      expect(result.exitCode).toBe(3);
      expect(Buffer.byteLength(result.stderr)).toBeLessThanOrEqual(OUTPUT_TAIL_BYTES);
      expect(result.stderr.endsWith(`${LINE}LAST-LINE\n`)).toBe(true);
      expect(result.droppedBytes).toBeGreaterThan(PRINTED - OUTPUT_TAIL_BYTES);
    },
  );
});

describe('a stand-in podman (a real process on a path) that misbehaves', () => {
  let dir: string;
  const strays: number[] = [];
  beforeAll(async () => {
    dir = await tmp('bounds-standin');
  });
  afterEach(async () => {
    for (const pid of strays.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Writes an executable `podman` stand-in running `body` (it records its pid first). */
  async function standIn(body: string): Promise<{ path: string; pid: () => Promise<number> }> {
    const path = join(dir, `podman-${randomBytes(3).toString('hex')}`);
    await writeFile(path, `#!/bin/sh\necho $$ > "${path}.pid"\n${body}\n`);
    await chmod(path, 0o755);
    return { path, pid: async () => Number(await readFile(`${path}.pid`, 'utf8')) };
  }

  it('a failing command that floods stderr: the error carries only the tail', async () => {
    const fake = await standIn(
      `busybox yes 'noise' | head -c ${8 * MiB} >&2; echo >&2; echo 'Error: the real reason' >&2; exit 125`,
    );
    const error = await failure(new CliPodman({ podman: fake.path }).tag('a', 'b'));
    expect(error.kind).toBe('command_failed');
    expect(error.message.length).toBeLessThan(STDERR_TAIL_BYTES + 200);
    expect(error.message).toMatch(
      new RegExp(`^${fake.path} tag failed: \\[\\d+ earlier bytes not kept\\] \\w*\\nnoise\\n`),
    );
    expect(error.message.endsWith('\nError: the real reason')).toBe(true);
  });

  it('pull past its limit: podman is stopped (TERM) and the error names the operation and the limit', async () => {
    // The sleep is a grandchild that keeps the pipes open after the stand-in dies.
    const fake = await standIn(
      `echo 'Trying to pull localhost/slow:1...' >&2\nsleep 60 & echo $! > "$0.sleep"\nwait`,
    );
    const cli = new CliPodman({ podman: fake.path, longOperationTimeoutMs: 1000 });
    const started = Date.now();
    const error = await failure(cli.pull('localhost/slow:1', { platform: 'linux/amd64' }));
    const took = Date.now() - started;
    strays.push(Number(await readFile(`${fake.path}.sleep`, 'utf8')));
    expect(error.kind).toBe('timeout');
    expect(error.message).toBe(
      `${fake.path} pull did not finish within 1 s: stopped it; its last output: Trying to pull localhost/slow:1...`,
    );
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(5000);
    expect(alive(await fake.pid())).toBe(false);
  });

  it('load of a stalled archive into a podman that ignores SIGTERM: killed after the grace', async () => {
    const fake = await standIn(`trap '' TERM\nexec cat > /dev/null`);
    const cli = new CliPodman({ podman: fake.path, longOperationTimeoutMs: 800, killGraceMs: 700 });
    const started = Date.now();
    const error = await failure(cli.load(stalled()));
    const took = Date.now() - started;
    expect(error.kind).toBe('timeout');
    expect(error.message).toBe(`${fake.path} load did not finish within 800 ms: stopped it`);
    expect(took).toBeGreaterThanOrEqual(1500);
    expect(took).toBeLessThan(6000);
    expect(alive(await fake.pid())).toBe(false);
  });

  it('build past its limit fails the same way', async () => {
    const fake = await standIn('exec sleep 60');
    const cli = new CliPodman({ podman: fake.path, longOperationTimeoutMs: 500 });
    const error = await failure(
      cli.build({
        tag: 'localhost/x:1',
        platform: 'linux/amd64',
        containerfile: 'F',
        context: '.',
      }),
    );
    expect(error.message).toBe(`${fake.path} build did not finish within 500 ms: stopped it`);
    expect(alive(await fake.pid())).toBe(false);
  });
});

describe('a libpod API that hangs on pull and load (a real server on a unix socket)', () => {
  let dir: string;
  let server: Server;
  const closed: string[] = [];
  beforeAll(async () => {
    dir = await tmp('bounds-api');
    server = createServer((req, res) => {
      if (req.url === '/libpod/_ping') {
        res.writeHead(200, { 'Libpod-Api-Version': '4.3.1' }).end('OK');
        return;
      }
      // Accept the request and never answer, like a pull stuck on a registry.
      req.resume();
      res.on('close', () => closed.push(req.url ?? ''));
    });
    await new Promise<void>((r) => server.listen(join(dir, 'api.sock'), () => r()));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('pull and load fail at the limit with the operation named, and the connection closed', async () => {
    const api = new ApiPodman({
      socketPath: join(dir, 'api.sock'),
      longOperationTimeoutMs: 600,
    });
    const pull = await failure(api.pull('localhost/slow:1', { platform: 'linux/amd64' }));
    expect(pull.kind).toBe('timeout');
    expect(pull.message).toBe(
      `pull localhost/slow:1 through unix://${join(dir, 'api.sock')} did not finish within 600 ms: aborted it`,
    );
    const archive = stalled(Buffer.alloc(1024));
    const load = await failure(api.load(archive));
    expect(load.message).toBe(
      `load through unix://${join(dir, 'api.sock')} did not finish within 600 ms: aborted it`,
    );
    expect(archive.destroyed).toBe(true);
    await expect
      .poll(() => closed.sort())
      .toEqual([
        '/v4.3.1/libpod/images/load',
        '/v4.3.1/libpod/images/pull?reference=localhost%2Fslow%3A1&OS=linux&Arch=amd64&quiet=true',
      ]);
  });
});
