import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { startKeeperLoop } from '../../worker/src/jobs/keeper-loop.js';
import { until } from '../support/until.js';

const logger = pino({ level: 'silent' });

describe('startKeeperLoop', () => {
  it('runs at once, retries a failure sooner (doubling), then waits the full interval', async () => {
    vi.useFakeTimers();
    try {
      let runs = 0;
      const loop = startKeeperLoop({
        what: 'test',
        keep: () => {
          runs += 1;
          return runs <= 3 ? Promise.reject(new Error(`down ${runs}`)) : Promise.resolve('kept');
        },
        intervalMs: 60_000,
        retryMs: 20,
        logger,
      });
      const after = async (ms: number) => {
        await vi.advanceTimersByTimeAsync(ms);
        return runs;
      };
      // Failures at once, then after 20, 40 and 80 ms; after the success, the interval.
      expect(await after(0)).toBe(1);
      expect([await after(19), await after(1)]).toEqual([1, 2]);
      expect([await after(39), await after(1)]).toEqual([2, 3]);
      expect([await after(79), await after(1)]).toEqual([3, 4]);
      expect([await after(59_999), await after(1)]).toEqual([4, 5]);
      await loop.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('never retries later than the interval, and stop waits for the run in progress', async () => {
    let finished = false;
    let runs = 0;
    const loop = startKeeperLoop({
      what: 'test',
      keep: async () => {
        runs += 1;
        if (runs < 4) throw new Error('down');
        await new Promise((r) => setTimeout(r, 100));
        finished = true;
        return 'kept';
      },
      intervalMs: 30,
      retryMs: 1_000,
      logger,
    });
    await until('the fourth run', () => Promise.resolve(runs >= 4 ? true : null), 2_000, 5);
    await loop.stop();
    expect(finished).toBe(true);
    const after = runs;
    await new Promise((r) => setTimeout(r, 100));
    expect(runs).toBe(after);
  });
});
