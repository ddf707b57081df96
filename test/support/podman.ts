import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CliPodman } from '../../src/lib/podman/cli.js';
import { ROOT } from './runner.js';

// runc + rlimits this sandbox accepts (crun fails here); scripts/test exports the same.
process.env.CONTAINERS_CONF ??= join(ROOT, 'scripts', 'podman', 'containers.conf');

const run = promisify(execFile);

export const podman = new CliPodman();

/** A fresh `localhost/vmt-<what>-<random>` repository name, so parallel tests never collide. */
export function uniqueImage(what: string): string {
  return `localhost/vmt-${what}-${randomBytes(4).toString('hex')}`;
}

/** `podman images` names matching a substring (all tags, dangling excluded). */
export async function imagesMatching(fragment: string): Promise<string[]> {
  const { stdout } = await run('podman', ['images', '--format', '{{.Repository}}:{{.Tag}}']);
  return stdout.split('\n').filter((l) => l.includes(fragment));
}

/** `podman ps -a` rows whose image or name matches a substring. */
export async function containersMatching(fragment: string): Promise<string[]> {
  const { stdout } = await run('podman', ['ps', '-a', '--format', '{{.ID}} {{.Image}} {{.Names}}']);
  return stdout.split('\n').filter((l) => l.includes(fragment));
}

export async function removeImages(fragment: string): Promise<void> {
  for (const name of await imagesMatching(fragment)) {
    await run('podman', ['rmi', '--force', '--', name]).catch(() => {});
  }
}
