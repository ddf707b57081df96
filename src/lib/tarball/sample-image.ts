import { spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Arch } from '../manifest/arch.js';
import { ociArchOf } from '../manifest/arch.js';
import type { Podman } from '../podman/transport.js';
import { findExecutable } from './compress.js';

const APPLETS = ['sh', 'echo', 'cat', 'ls', 'sleep', 'uname', 'env', 'true', 'false', 'head'];

export interface SampleImageOptions {
  /** `name:tag` to create, e.g. `localhost/demo-agent:1.0.0`. */
  ref: string;
  /** The platform recorded in the image (default: the host's). */
  arch?: Arch;
  /** Files to add: path inside the image → content (executable when it starts with `#!`). */
  extraFiles?: Record<string, string | Uint8Array>;
  /** The default command (default: `/bin/sh`). */
  cmd?: string[];
  /** A static busybox (default: `busybox` on PATH, from Debian's busybox-static). */
  busybox?: string;
}

/**
 * Builds a small runnable agent image with no registry: a root filesystem with a
 * static busybox and its applet links, imported with `podman import`.
 */
export async function buildSampleImage(podman: Podman, o: SampleImageOptions): Promise<string> {
  const busybox = o.busybox ?? (await findExecutable('busybox')) ?? '/bin/busybox';
  const root = await mkdtemp(join(tmpdir(), 'vm-tools-rootfs-'));
  try {
    await mkdir(join(root, 'bin'), { recursive: true });
    for (const dir of ['tmp', 'etc', 'proc', 'sys', 'dev']) await mkdir(join(root, dir));
    await copyFile(busybox, join(root, 'bin', 'busybox'));
    await chmod(join(root, 'bin', 'busybox'), 0o755);
    for (const applet of APPLETS) await symlink('busybox', join(root, 'bin', applet));
    for (const [path, content] of Object.entries(o.extraFiles ?? {})) {
      const target = join(root, path.replace(/^\/+/, ''));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content);
      const text = typeof content === 'string' ? content : '';
      if (text.startsWith('#!')) await chmod(target, 0o755);
    }
    const tar = spawn('tar', ['-C', root, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number>((resolve) => tar.on('close', (c) => resolve(c ?? 1)));
    const id = await podman.importImage(tar.stdout as Readable, {
      ref: o.ref,
      arch: o.arch ? ociArchOf(o.arch) : undefined,
      changes: [`CMD ${JSON.stringify(o.cmd ?? ['/bin/sh'])}`, 'ENV PATH=/bin'],
    });
    if ((await exited) !== 0) throw new Error('tar of the sample root filesystem failed');
    return id;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
