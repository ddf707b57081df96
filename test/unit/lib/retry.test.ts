import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay, retry } from '../../../src/lib/retry.js';

describe('retry', () => {
  it('retries retryable errors with growing, capped, jittered delays', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await retry(
      async () => {
        calls++;
        if (calls < 4) throw new Error('503');
        return 'ok';
      },
      {
        attempts: 5,
        baseMs: 100,
        maxMs: 250,
        isRetryable: () => true,
        random: () => 1,
        sleep: async (ms) => void delays.push(ms),
      },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(4);
    expect(delays).toEqual([100, 200, 250]);
    // Full jitter: each delay is the random fraction of the capped backoff.
    const jittered: number[] = [];
    calls = 0;
    await retry(
      async () => {
        calls++;
        if (calls < 4) throw new Error('503');
        return 'ok';
      },
      {
        attempts: 5,
        baseMs: 100,
        maxMs: 250,
        isRetryable: () => true,
        random: () => 0.5,
        sleep: async (ms) => void jittered.push(ms),
      },
    );
    expect(jittered).toEqual([50, 100, 125]);
  });

  it('does not retry a non-retryable error', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw new Error('403');
        },
        { attempts: 5, isRetryable: () => false, sleep: async () => {} },
      ),
    ).rejects.toThrow('403');
    expect(calls).toBe(1);
  });

  it('stops at the attempt limit and at the deadline', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw new Error('busy');
        },
        { attempts: 3, isRetryable: () => true, sleep: async () => {} },
      ),
    ).rejects.toThrow('busy');
    expect(calls).toBe(3);
    let clock = 0;
    calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw new Error('busy');
        },
        {
          attempts: 100,
          baseMs: 1000,
          deadlineMs: 2500,
          random: () => 1,
          isRetryable: () => true,
          now: () => clock,
          sleep: async (ms) => {
            clock += ms;
          },
        },
      ),
    ).rejects.toThrow('busy');
    expect(calls).toBe(2);
  });

  it('full jitter stays within [0, cap]', () => {
    expect(backoffDelay(10, 100, 5000, () => 0)).toBe(0);
    expect(backoffDelay(10, 100, 5000, () => 0.5)).toBe(2500);
  });

  it('Backoff: loops bounded by time get waits cut to the deadline, then undefined', () => {
    let clock = 0;
    const backoff = new Backoff(
      { deadlineMs: 1000, random: () => 1, now: () => clock },
      { baseMs: 100, maxMs: 10_000 },
    );
    const waits: number[] = [];
    for (;;) {
      const delay = backoff.nextDelayWithinDeadline();
      if (delay === undefined) break;
      waits.push(delay);
      clock += delay;
    }
    expect(waits).toEqual([100, 200, 400, 300]);
    expect(backoff.attempts).toBe(5);
  });
});
