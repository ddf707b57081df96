import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withLock } from '../fs/lock.js';

/**
 * Per-VM loopback addresses: each smolvm machine's sidecar listens on its own
 * 127.0.0.N, so one machine's allowlist entry never reaches another's sidecar.
 * Allocation happens under an exclusive file lock (boot-vm steps of parallel
 * jobs on one runner race for addresses) and skips addresses that another VM
 * has recorded or that something on the host already listens on.
 */

export interface LoopbackOptions {
  /** Where allocation records and the lock live (shared by every process on the host). */
  dir: string;
  /** IPv4 addresses something listens on (default: read from /proc/net/tcp{,6} on Linux). */
  listening?: () => Promise<Set<string>>;
  /** Host part range; .1 is everyone's default and is never handed out. */
  first?: number;
  last?: number;
}

interface Allocation {
  owner: string;
  address: string;
  pid: number;
}

const recordsDir = (dir: string) => join(dir, 'allocations');

/** Decodes `/proc/net/tcp` and `/proc/net/tcp6` rows in LISTEN state (0A) to IPv4 addresses. */
export function listeningIpv4(procNetTcp: string): Set<string> {
  const out = new Set<string>();
  for (const line of procNetTcp.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    if (!local || fields[3] !== '0A') continue;
    const hex = local.split(':')[0] ?? '';
    // tcp: 8 hex digits, little-endian; tcp6: a v4-mapped ::ffff:a.b.c.d ends in the same 8.
    const v4 =
      hex.length === 8
        ? hex
        : hex.length === 32 && hex.slice(0, 24) === '0000000000000000FFFF0000'
          ? hex.slice(24)
          : undefined;
    if (!v4) continue;
    const bytes = [6, 4, 2, 0].map((i) => Number.parseInt(v4.slice(i, i + 2), 16));
    out.add(bytes.join('.'));
  }
  return out;
}

async function listeningFromProc(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const address of listeningIpv4(text)) out.add(address);
  }
  return out;
}

async function readAllocations(dir: string): Promise<Allocation[]> {
  const names = await readdir(recordsDir(dir)).catch(() => [] as string[]);
  const out: Allocation[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const text = await readFile(join(recordsDir(dir), name), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    try {
      out.push(JSON.parse(text) as Allocation);
    } catch {
      // A record is written to a temp name and renamed: a torn one is not ours to trust or reuse.
    }
  }
  return out;
}

/** Gives `owner` its own 127.0.0.N (the same one again if it already has one). */
export async function allocateLoopback(owner: string, options: LoopbackOptions): Promise<string> {
  const first = options.first ?? 2;
  const last = options.last ?? 254;
  return withLock(
    join(options.dir, 'allocations'),
    async () => {
      const allocations = await readAllocations(options.dir);
      const mine = allocations.find((a) => a.owner === owner);
      if (mine) return mine.address;
      const taken = new Set(allocations.map((a) => a.address));
      const listening =
        (await (
          options.listening ?? (process.platform === 'linux' ? listeningFromProc : undefined)
        )?.()) ?? new Set<string>();
      for (let n = first; n <= last; n++) {
        const address = `127.0.0.${n}`;
        if (taken.has(address) || listening.has(address)) continue;
        await mkdir(recordsDir(options.dir), { recursive: true });
        const record: Allocation = { owner, address, pid: process.pid };
        const path = join(recordsDir(options.dir), `${address}.json`);
        await writeFile(`${path}.tmp`, JSON.stringify(record));
        await rename(`${path}.tmp`, path);
        return address;
      }
      throw new Error(`no free loopback address in 127.0.0.${first}–127.0.0.${last}`);
    },
    { what: `loopback allocations in ${options.dir}` },
  );
}

/** Frees `owner`'s address; freeing one it does not have is not an error. */
export async function releaseLoopback(owner: string, options: LoopbackOptions): Promise<void> {
  await withLock(
    join(options.dir, 'allocations'),
    async () => {
      for (const allocation of await readAllocations(options.dir)) {
        if (allocation.owner !== owner) continue;
        await rm(join(recordsDir(options.dir), `${allocation.address}.json`), { force: true });
      }
    },
    { what: `loopback allocations in ${options.dir}` },
  );
}
