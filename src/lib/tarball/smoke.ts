import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { type CleanupRegistry, processCleanups, type Tracked } from '../cleanup.js';
import { parseSidecar, sha256File } from '../fs/hash.js';
import { type Arch, ociArchOf, platformOf } from '../manifest/arch.js';
import { isPodmanError } from '../podman/errors.js';
import { sameImageRef } from '../podman/refs.js';
import type { Podman } from '../podman/transport.js';

export interface SmokeOptions {
  podman: Podman;
  tarball: string;
  image: string;
  version: string;
  arch: Arch;
  /** The argv to run; empty: only load and check. */
  command: string[];
  expect?: RegExp;
  timeoutSeconds: number;
  network: string;
  keepImage: boolean;
  log?: (line: string) => void;
  now?: () => number;
  /** Where the container and loaded image are tracked for a cancelled step (default: the process's). */
  cleanups?: CleanupRegistry;
}

export interface SmokeResult {
  imageId: string;
  loadedRef: string;
  durationMs: number;
  output: string;
  ran: boolean;
}

const TAIL_LINES = 20;
const LOAD_SETTLE_MS = 5_000;

function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The last lines of the container's output, for a failure message a person can act on. */
export function outputTail(output: string, lines = TAIL_LINES): string {
  const all = output.replace(/\s+$/, '').split('\n');
  const tail = all.slice(-lines).join('\n');
  return tail.length ? tail : '(no output)';
}

async function verifySidecar(tarball: string): Promise<string> {
  const sidecar = `${tarball}.sha256`;
  let text: string;
  try {
    text = await readFile(sidecar, 'utf8');
  } catch (error) {
    throw new Error(
      `sidecar ${sidecar} cannot be read: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  const expected = parseSidecar(text);
  if (!expected) throw new Error(`sidecar ${sidecar} does not start with a sha256`);
  const actual = (await sha256File(tarball)).sha256;
  if (actual !== expected) {
    throw new Error(
      `sha256 mismatch for ${basename(tarball)}: sidecar says ${expected}, file is ${actual}`,
    );
  }
  return actual;
}

/**
 * Verify, load, check name and arch, run the command in a fresh container, and
 * always remove what was created (container, and the loaded image unless kept
 * or already present before), also when a step fails or the command hangs.
 */
export async function smokeTarball(o: SmokeOptions): Promise<SmokeResult> {
  const log = o.log ?? (() => {});
  const now = o.now ?? (() => performance.now());
  const started = now();
  const expectedRef = `${o.image}:${o.version}`;
  await verifySidecar(o.tarball);
  // Only what the smoke test created is removed: an image the machine already had
  // under this name (e.g. the one the tarball was built from) stays.
  const existedBefore = await o.podman.imageExists(expectedRef).catch(() => false);
  const cleanups = o.cleanups ?? processCleanups;
  const removeImage = async (name: string) => {
    await o.podman.removeImage(name, { force: true }).catch((error: unknown) => {
      if (!isPodmanError(error, 'not_found')) log(`could not remove image ${name}: ${error}`);
    });
  };
  let loading: Promise<unknown> = Promise.resolve();
  // Tracked before the load starts: a cancel can land while podman is still
  // loading, and a podman that already has the whole archive finishes the load
  // even after this process exits, so the cleanup lets it settle first.
  const trackedImage: Tracked | undefined =
    o.keepImage || existedBefore
      ? undefined
      : cleanups.track({ kind: 'image', ref: expectedRef }, async () => {
          await settledWithin(loading, LOAD_SETTLE_MS);
          await removeImage(expectedRef);
        });
  let trackedContainer: Tracked | undefined;
  log(`sha256 verified; loading ${basename(o.tarball)} through ${o.podman.description}`);
  let names: string[];
  try {
    const load = o.podman.load(createReadStream(o.tarball, { highWaterMark: 1 << 20 }));
    loading = load.catch(() => {});
    names = await load;
  } catch (error) {
    trackedImage?.release();
    throw error;
  }
  const loadedRef = names.find((n) => sameImageRef(n, expectedRef));
  let container: string | undefined;
  let output = '';
  try {
    if (!loadedRef) {
      throw new Error(
        `the tarball loaded ${names.length ? names.join(', ') : 'no named image'}, not ${expectedRef}`,
      );
    }
    const info = await o.podman.inspectImage(loadedRef);
    trackedImage?.update({ kind: 'image', ref: expectedRef, id: info.id });
    if (info.os !== 'linux' || info.architecture !== ociArchOf(o.arch)) {
      throw new Error(
        `loaded image ${loadedRef} is ${info.os}/${info.architecture}, not ${platformOf(o.arch)}`,
      );
    }
    if (o.command.length === 0) {
      log(`loaded ${loadedRef} (${info.id.slice(0, 12)}); no command to run`);
      return { imageId: info.id, loadedRef, durationMs: now() - started, output, ran: false };
    }
    container = `vm-tools-smoke-${randomBytes(6).toString('hex')}`;
    const name = container;
    trackedContainer = cleanups.track({ kind: 'container', name }, () =>
      o.podman.removeContainer(name, { force: true }).catch((error: unknown) => {
        if (!isPodmanError(error, 'not_found')) throw error;
      }),
    );
    await o.podman.createContainer({
      image: loadedRef,
      command: o.command,
      network: o.network,
      name: container,
      labels: { 'vm-tools.smoke': '1' },
    });
    log(`running ${JSON.stringify(o.command)} in ${container} (network ${o.network})`);
    await o.podman.startContainer(container);
    let exitCode: number;
    try {
      exitCode = await o.podman.waitContainer(container, { timeoutMs: o.timeoutSeconds * 1000 });
    } catch (error) {
      if (!isPodmanError(error, 'timeout')) throw error;
      await o.podman.stopContainer(container, { timeoutSeconds: 0 }).catch(() => {});
      output = (await o.podman.logs(container).catch(() => ({ combined: '' }))).combined;
      throw new Error(
        `command timed out after ${o.timeoutSeconds} s; output tail:\n${outputTail(output)}`,
      );
    }
    output = (await o.podman.logs(container)).combined;
    if (exitCode !== 0) {
      throw new Error(`command exited with code ${exitCode}; output tail:\n${outputTail(output)}`);
    }
    if (o.expect && !o.expect.test(output)) {
      throw new Error(
        `output does not match /${o.expect.source}/; output tail:\n${outputTail(output)}`,
      );
    }
    log(`command exited 0 and its output matched`);
    return { imageId: info.id, loadedRef, durationMs: now() - started, output, ran: true };
  } finally {
    if (container) {
      await o.podman.removeContainer(container, { force: true }).then(
        () => trackedContainer?.release(),
        (error: unknown) => {
          if (isPodmanError(error, 'not_found')) trackedContainer?.release();
          else log(`could not remove ${container}: ${error}`);
        },
      );
    }
    if (!o.keepImage && !existedBefore) {
      for (const name of loadedRef ? [loadedRef] : names) await removeImage(name);
    }
    trackedImage?.release();
  }
}
