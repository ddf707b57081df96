import { describe, expect, it } from 'vitest';
import { checkFreeSpace } from '../../src/lib/cache/plan.js';
import {
  checkAnnouncedSize,
  DOWNLOAD_DEADLINE_FLOOR_MS,
  downloadDeadlineMs,
  formatLimitBytes,
  formatLimitMs,
  MiB,
  readCapped,
  SizeLimitError,
} from '../../src/lib/limits.js';
import { OutputTail } from '../../src/lib/output-tail.js';

describe('readCapped', () => {
  it('returns a document under the cap whole', async () => {
    const body = (async function* () {
      yield Buffer.from('{"a":');
      yield Buffer.from('1}');
    })();
    expect((await readCapped(body, 'doc', 7)).toString()).toBe('{"a":1}');
  });

  it('stops pulling from an endless source one chunk past the cap, and closes it', async () => {
    let pulled = 0;
    let closed = false;
    const endless = (async function* () {
      try {
        for (;;) {
          pulled++;
          yield Buffer.alloc(1024);
        }
      } finally {
        closed = true;
      }
    })();
    const error = await readCapped(endless, 'manifest http://x/vm/manifest.json', 10 * 1024).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SizeLimitError);
    expect(error).toMatchObject({ kind: 'too_large', retryable: false, limitBytes: 10 * 1024 });
    expect((error as Error).message).toBe(
      'manifest http://x/vm/manifest.json is larger than 10 KiB, the limit for a manifest or baseline: refusing to read it',
    );
    expect(pulled).toBe(11);
    expect(closed).toBe(true);
  });

  it('an announced size over the cap fails without reading; unknown or within passes', () => {
    expect(() => checkAnnouncedSize(16 * MiB + 1, 'baseline b')).toThrow(
      `baseline b is larger than 16 MiB (${16 * MiB + 1} bytes)`,
    );
    expect(() => checkAnnouncedSize(16 * MiB, 'baseline b')).not.toThrow();
    expect(() => checkAnnouncedSize(undefined, 'baseline b')).not.toThrow();
    expect(() => checkAnnouncedSize(Number.NaN, 'baseline b')).not.toThrow();
  });
});

describe('downloadDeadlineMs', () => {
  it('is the floor plus the size at 256 KiB/s', () => {
    expect(downloadDeadlineMs(0)).toBe(DOWNLOAD_DEADLINE_FLOOR_MS);
    expect(downloadDeadlineMs(1024 * MiB)).toBe(10 * 60_000 + 4096_000);
    expect(downloadDeadlineMs(1000, 500, 1000)).toBe(1500);
  });
});

describe('limit formatting', () => {
  it('says sizes and durations the way people read them', () => {
    expect(formatLimitBytes(300)).toBe('300 bytes');
    expect(formatLimitBytes(16 * MiB)).toBe('16 MiB');
    expect(formatLimitBytes(1.5 * 1024 * MiB)).toBe('1.5 GiB');
    expect(formatLimitMs(800)).toBe('800 ms');
    expect(formatLimitMs(1500)).toBe('1.5 s');
    expect(formatLimitMs(60 * 60_000)).toBe('60 min');
  });
});

describe('checkFreeSpace', () => {
  it('names the directory and both numbers when the download cannot fit', () => {
    expect(() => checkFreeSpace(2 * MiB, MiB, '/cache')).toThrow(
      `not enough free space in /cache: the download needs ${2 * MiB} bytes (2.0 MiB), the filesystem has ${MiB} bytes (1.0 MiB) free`,
    );
    expect(() => checkFreeSpace(MiB, MiB, '/cache')).not.toThrow();
  });
});

describe('OutputTail', () => {
  it('keeps the last bytes however the output arrives, and counts what it dropped', () => {
    const tail = new OutputTail(10);
    for (const piece of ['0123', '4567', '89ab', 'cdef']) tail.push(piece);
    expect(tail.text()).toBe('6789abcdef');
    expect(tail.droppedBytes).toBe(6);
    tail.push('x'.repeat(25));
    expect(tail.text()).toBe('x'.repeat(10));
    expect(tail.droppedBytes).toBe(31);
  });

  it('never holds more than the limit, even with many small writes', () => {
    const tail = new OutputTail(1024);
    for (let i = 0; i < 100_000; i++) tail.push(`line ${i}\n`);
    expect(Buffer.byteLength(tail.text())).toBeLessThanOrEqual(1024);
    expect(tail.text().endsWith('line 99999\n')).toBe(true);
  });

  it('skips a character cut in half at the front', () => {
    const tail = new OutputTail(4);
    tail.push('aé€'); // 1 + 2 + 3 bytes: the tail starts inside é
    expect(tail.text()).toBe('€');
  });

  it('keeps short output untouched', () => {
    const tail = new OutputTail(100);
    tail.push('hello\n');
    expect(tail.text()).toBe('hello\n');
    expect(tail.truncated).toBe(false);
  });
});
