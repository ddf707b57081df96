import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allocateLoopback, listeningIpv4, releaseLoopback } from '../../src/lib/vm/loopback.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vm-tools-loopback-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const nothingListens = async () => new Set<string>();

describe('loopback allocation', () => {
  it('hands out distinct addresses, the same one again to the same VM, and reuses freed ones', async () => {
    const options = { dir, listening: nothingListens };
    expect(await allocateLoopback('a', options)).toBe('127.0.0.2');
    expect(await allocateLoopback('b', options)).toBe('127.0.0.3');
    expect(await allocateLoopback('a', options)).toBe('127.0.0.2');
    await releaseLoopback('a', options);
    await releaseLoopback('never-had-one', options);
    expect(await allocateLoopback('c', options)).toBe('127.0.0.2');
    const record = JSON.parse(await readFile(join(dir, 'allocations', '127.0.0.2.json'), 'utf8'));
    expect(record).toMatchObject({ owner: 'c', address: '127.0.0.2', pid: process.pid });
  });

  it('skips an address something really listens on (read from /proc/net/tcp)', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
    try {
      const address = await allocateLoopback('a', { dir });
      expect(address).not.toBe('127.0.0.2');
      expect(address).toMatch(/^127\.0\.0\.\d+$/);
    } finally {
      server.close();
    }
  });

  it('fails when the range is exhausted', async () => {
    const options = { dir, listening: nothingListens, first: 2, last: 3 };
    await allocateLoopback('a', options);
    await allocateLoopback('b', options);
    await expect(allocateLoopback('c', options)).rejects.toThrow(
      'no free loopback address in 127.0.0.2–127.0.0.3',
    );
  });

  it('decodes LISTEN rows of /proc/net/tcp and v4-mapped rows of tcp6', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0200007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
      '   1: 0300007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 2 1',
    ].join('\n');
    const tcp6 = [
      '  sl  local_address                         remote_address                        st',
      '   0: 0000000000000000FFFF00000500007F:0050 00000000000000000000000000000000:0000 0A',
      '   1: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A',
    ].join('\n');
    expect([...listeningIpv4(tcp)]).toEqual(['127.0.0.2']);
    expect([...listeningIpv4(tcp6)]).toEqual(['127.0.0.5']);
  });

  it('two processes allocating at once get distinct addresses', async () => {
    // Real child processes racing for the lock; each takes five addresses.
    const hooks = `
      import { registerHooks } from 'node:module';
      registerHooks({ resolve(specifier, context, next) {
        try { return next(specifier, context); } catch (error) {
          if (specifier.startsWith('.') && specifier.endsWith('.js')) return next(specifier.slice(0, -3) + '.ts', context);
          throw error;
        }
      } });`;
    const child = (who: string) => `
      const { allocateLoopback } = await import(${JSON.stringify(join(import.meta.dirname, '../../src/lib/vm/loopback.ts'))});
      const out = [];
      for (let i = 0; i < 5; i++) {
        out.push(await allocateLoopback('${who}-' + i, { dir: ${JSON.stringify(dir)}, listening: async () => new Set() }));
      }
      console.log(JSON.stringify(out));`;
    const run = (who: string) =>
      new Promise<string[]>((resolve, reject) => {
        const p = spawn(
          process.execPath,
          [
            '--experimental-strip-types',
            '--no-warnings',
            '--import',
            `data:text/javascript,${encodeURIComponent(hooks)}`,
            '--input-type=module',
            '-e',
            child(who),
          ],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        let out = '';
        p.stdout.on('data', (d) => (out += d));
        p.on('close', (code) =>
          code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(`exit ${code}`)),
        );
      });
    const [first, second] = await Promise.all([run('p'), run('q')]);
    const all = [...(first ?? []), ...(second ?? [])];
    expect(all).toHaveLength(10);
    expect(new Set(all).size).toBe(10);
  }, 60_000);
});
