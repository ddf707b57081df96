import { describe, expect, it } from 'vitest';
import { formatBytes, throttledProgress } from '../../../src/lib/progress.js';

describe('throttledProgress', () => {
  it('prints nothing in the first interval, then at most one line per interval, and always the final one', () => {
    let t = 1_000;
    const printed: string[] = [];
    const progress = throttledProgress((line) => printed.push(line), {
      intervalMs: 3_000,
      now: () => t,
    });
    for (const [at, line] of [
      [1_000, 'first bytes'],
      [3_999, 'still early'],
      [4_000, 'three seconds in'],
      [6_999, 'too soon'],
      [7_000, 'six seconds in'],
    ] as const) {
      t = at;
      progress.update(line);
    }
    progress.done('done');
    expect(printed).toEqual(['three seconds in', 'six seconds in', 'done']);
  });
});

describe('formatBytes', () => {
  it('prints whole bytes below a KiB and one decimal above', () => {
    expect(formatBytes(10)).toBe('10 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(6 * 1024 * 1024)).toBe('6.0 MiB');
  });
});
