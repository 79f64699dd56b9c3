import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { startKeeperLoop } from '../../worker/src/jobs/keeper-loop.js';
import { until } from '../support/until.js';

const logger = pino({ level: 'silent' });

describe('startKeeperLoop', () => {
  it('runs at once, retries a failure sooner (doubling), then waits the full interval', async () => {
    const runs: number[] = [];
    const started = Date.now();
    const loop = startKeeperLoop({
      what: 'test',
      keep: () => {
        runs.push(Date.now() - started);
        return runs.length <= 3 ? Promise.reject(new Error(`down ${runs.length}`)) : Promise.resolve('kept');
      },
      intervalMs: 60_000,
      retryMs: 20,
      logger,
    });
    await until('four runs', () => Promise.resolve(runs.length >= 4 ? true : null), 5_000, 5);
    await new Promise((r) => setTimeout(r, 300));
    await loop.stop();
    // Failures at once, +20, +40, +80 ms; after the success nothing more within the interval.
    expect(runs).toHaveLength(4);
    const gaps = runs.slice(1).map((at, i) => at - (runs[i] ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(20);
    expect(gaps[1]).toBeGreaterThanOrEqual(40);
    expect(gaps[2]).toBeGreaterThanOrEqual(80);
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
