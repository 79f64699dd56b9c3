import type { Logger } from 'pino';
import { describeError } from '../contracts/dependency-check.js';

export interface KeeperLoop {
  /** No further runs; resolves once a run in progress has ended. */
  stop(): Promise<void>;
}

/**
 * Runs `keep` now and then every `intervalMs`, one run at a time. After a failure it tries again
 * sooner: `retryMs`, doubling up to the interval, so a CA or DNS that was down is caught up on
 * within moments of coming back, without hammering it meanwhile.
 */
export function startKeeperLoop(options: { what: string; keep: () => Promise<string>; intervalMs: number; retryMs: number; logger: Logger }): KeeperLoop {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  let failures = 0;
  const schedule = (delayMs: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = once();
    }, delayMs);
  };
  const once = async () => {
    try {
      const outcome = await options.keep();
      failures = 0;
      options.logger.info({ task: options.what, outcome }, `${options.what}: done`);
      schedule(options.intervalMs);
    } catch (error) {
      failures += 1;
      const retryInMs = Math.min(options.intervalMs, options.retryMs * 2 ** Math.min(failures - 1, 20));
      options.logger.warn({ task: options.what, err: describeError(error), failures, retryInMs }, `${options.what}: failed, trying again`);
      schedule(retryInMs);
    }
  };
  running = once();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
