import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withLock } from '../../../src/lib/fs/lock.js';

describe('withLock', () => {
  it('serialises holders in one process', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vm-tools-lock-'));
    const events: string[] = [];
    const hold = (id: string) =>
      withLock(join(dir, 'x'), async () => {
        events.push(`in ${id}`);
        await new Promise((r) => setTimeout(r, 30));
        events.push(`out ${id}`);
      });
    await Promise.all([hold('a'), hold('b'), hold('c')]);
    expect(events).toHaveLength(6);
    expect(events.filter((e) => e.startsWith('in ')).sort()).toEqual(['in a', 'in b', 'in c']);
    for (let i = 0; i < events.length; i += 2) {
      expect(events[i]?.replace('in', 'out')).toBe(events[i + 1]);
    }
  });

  it('serialises holders across processes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vm-tools-lock-'));
    const counter = join(dir, 'counter');
    // Each child does a read-modify-write of a counter 20 times under the lock; a lost update would show.
    const child = `
      import { readFile, writeFile } from 'node:fs/promises';
      import { registerHooks } from 'node:module';
      // The sources import each other as .js (what the bundler and tsc expect).
      registerHooks({
        resolve(specifier, context, next) {
          try {
            return next(specifier, context);
          } catch (error) {
            if (!specifier.startsWith('.') || !specifier.endsWith('.js')) throw error;
            return next(specifier.slice(0, -3) + '.ts', context);
          }
        },
      });
      const { withLock } = await import(${JSON.stringify(join(import.meta.dirname, '../../../src/lib/fs/lock.ts'))});
      for (let i = 0; i < 20; i++) {
        await withLock(${JSON.stringify(join(dir, 'lock'))}, async () => {
          const n = Number(await readFile(${JSON.stringify(counter)}, 'utf8').catch(() => '0'));
          await new Promise((r) => setTimeout(r, 1));
          await writeFile(${JSON.stringify(counter)}, String(n + 1));
        });
      }`;
    const run = () =>
      new Promise<number>((resolve) => {
        const p = spawn(
          process.execPath,
          ['--experimental-strip-types', '--input-type=module', '-e', child],
          { stdio: 'inherit' },
        );
        p.on('close', (code) => resolve(code ?? 1));
      });
    expect(await Promise.all([run(), run(), run()])).toEqual([0, 0, 0]);
    expect(await readFile(counter, 'utf8')).toBe('60');
  });

  it('times out naming what is locked', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vm-tools-lock-'));
    const path = join(dir, 'x');
    let release!: () => void;
    const held = withLock(path, () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 20));
    await expect(
      withLock(path, async () => {}, { timeoutMs: 100, what: 'the cache dir' }),
    ).rejects.toThrow('timed out after 100 ms waiting for the lock on the cache dir');
    release();
    await held;
  });
});
