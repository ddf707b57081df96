import { EventEmitter } from 'node:events';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CleanupRegistry,
  type Leftover,
  parseLeftovers,
  removeLeftoverFile,
  removeLeftovers,
} from '../../src/lib/cleanup.js';

/** A stand-in for `process` that only delivers signals (the real one would end the test run). */
const signals = () => new EventEmitter() as unknown as NodeJS.Process;

describe('CleanupRegistry', () => {
  it('hands every change to the state sink, and release removes the entry', () => {
    const registry = new CleanupRegistry();
    const saved: Leftover[][] = [];
    registry.setStateSink((l) => saved.push(l));
    const image = registry.track({ kind: 'image', ref: 'a:1' }, () => {});
    image.update({ kind: 'image', ref: 'a:1', id: 'abc' });
    const file = registry.track({ kind: 'file', path: '/x.partial' }, () => {});
    image.release();
    file.release();
    file.release();
    expect(saved).toEqual([
      [{ kind: 'image', ref: 'a:1' }],
      [{ kind: 'image', ref: 'a:1', id: 'abc' }],
      [
        { kind: 'image', ref: 'a:1', id: 'abc' },
        { kind: 'file', path: '/x.partial' },
      ],
      [{ kind: 'file', path: '/x.partial' }],
      [],
    ]);
  });

  it('runs cleanups newest first, once, and keeps what failed in the state', async () => {
    const registry = new CleanupRegistry();
    const order: string[] = [];
    const saved: Leftover[][] = [];
    registry.setStateSink((l) => saved.push(l));
    registry.track({ kind: 'image', ref: 'a:1' }, () => {
      order.push('image');
    });
    registry.track({ kind: 'file', path: '/stuck' }, () => {
      throw new Error('EBUSY');
    });
    registry.track({ kind: 'container', name: 'c' }, async () => {
      order.push('container');
    });
    const logs: string[] = [];
    await Promise.all([registry.runAll((m) => logs.push(m)), registry.runAll()]);
    expect(order).toEqual(['container', 'image']);
    expect(logs).toEqual(['could not remove file /stuck: EBUSY']);
    expect(saved.at(-1)).toEqual([{ kind: 'file', path: '/stuck' }]);
  });

  it('on SIGTERM cleans up, then exits 143; a second signal exits at once', async () => {
    const registry = new CleanupRegistry();
    const target = signals();
    const exits: number[] = [];
    let finish: () => void = () => {};
    registry.track(
      { kind: 'container', name: 'c' },
      () =>
        new Promise<void>((resolve) => {
          finish = resolve;
        }),
    );
    const logs: string[] = [];
    const stop = registry.handleSignals(
      { log: (m) => logs.push(m), exit: (c) => exits.push(c) },
      target,
    );
    target.emit('SIGTERM');
    expect(logs).toEqual(['SIGTERM: cancelled; removing 1 thing this step created']);
    target.emit('SIGINT');
    expect(exits).toEqual([130]);
    finish();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(exits).toEqual([130, 143]);
    expect(registry.leftovers()).toEqual([]);
    stop();
    expect((target as unknown as EventEmitter).listenerCount('SIGINT')).toBe(0);
  });

  it('gives up waiting after the timeout and exits, leaving the rest to post', async () => {
    const registry = new CleanupRegistry();
    const target = signals();
    const exits: number[] = [];
    registry.track({ kind: 'container', name: 'hung' }, () => new Promise<void>(() => {}));
    const logs: string[] = [];
    registry.handleSignals(
      { log: (m) => logs.push(m), exit: (c) => exits.push(c), timeoutMs: 20 },
      target,
    );
    target.emit('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(exits).toEqual([130]);
    expect(logs.at(-1)).toBe('cleanup did not finish within 20 ms; the post step removes the rest');
    expect(registry.leftovers()).toEqual([{ kind: 'container', name: 'hung' }]);
  });
});

describe('post: saved leftovers', () => {
  it('parses the saved state, ignoring kinds it does not know', () => {
    expect(parseLeftovers('')).toEqual([]);
    expect(
      parseLeftovers(
        JSON.stringify([
          { kind: 'file', path: '/a' },
          { kind: 'snapshot', name: 'x' },
        ]),
      ),
    ).toEqual([{ kind: 'file', path: '/a' }]);
    expect(() => parseLeftovers('{')).toThrow('saved state vm-tools-leftovers is not JSON: {');
  });

  it('removes files, says what was already gone, and fails naming what it cannot remove', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vm-tools-cleanup-'));
    try {
      await writeFile(join(dir, 'a.partial'), 'x');
      const logs: string[] = [];
      const leftovers: Leftover[] = [
        { kind: 'file', path: join(dir, 'a.partial') },
        { kind: 'file', path: join(dir, 'gone.tmp') },
      ];
      expect(
        await removeLeftovers(leftovers, { file: removeLeftoverFile }, (m) => logs.push(m)),
      ).toBe(1);
      expect(await readdir(dir)).toEqual([]);
      expect(logs).toEqual([
        `file ${join(dir, 'gone.tmp')}: nothing to remove`,
        `removed file ${join(dir, 'a.partial')}`,
      ]);
      await expect(
        removeLeftovers([{ kind: 'container', name: 'c' }], { file: removeLeftoverFile }, () => {}),
      ).rejects.toThrow('container c: this step does not know how to remove it');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
