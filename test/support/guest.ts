import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { buildGuest, type GuestImage } from '../../src/lib/vm/guest/build.js';
import { guestHttpGet } from '../../src/lib/vm/guest/http-get.js';
import { ROOT } from './runner.js';

/** Built once per machine (content-keyed), shared by every test file and run; under .tmp/ (ignored). */
export const GUEST_DIR = join(ROOT, '.tmp', 'vm-guest');

export function defaultGuest(): Promise<GuestImage> {
  return buildGuest({ cacheDir: GUEST_DIR });
}

/** Pids of qemu processes whose command line mentions `marker` (a work dir, a VM name). */
export async function qemuPids(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'latin1').catch(() => '');
    if (cmd.includes('qemu-system') && cmd.includes(marker)) pids.push(Number(entry));
  }
  return pids;
}

/** A real HTTP server on 127.0.0.1 that answers every request with `body`. */
export async function startHttp(
  body: string,
): Promise<{ port: number; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits++;
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A guest-side `GET /` (the library's busybox nc GET). */
export const guestGet = (host: string, port: number): string[] => guestHttpGet(host, port);
