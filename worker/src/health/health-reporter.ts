import type { Redis } from 'ioredis';
import { runDependencyCheck, type DependencyProbe } from '../contracts/dependency-check.js';
import { mergeWorkerReports, parseWorkerReport, type WorkerDependency, type WorkerHealthReport } from '../contracts/worker-health.js';
import { publishWorkerReport, readWorkerReports } from '../contracts/worker-health-store.js';
import { FailedCheckStreaks } from './failed-check-streaks.js';
import { publishNodeStats, type NodeStatsSource } from './node-stats.js';

export interface HealthReporterOptions {
  redis: Redis;
  workerId: string;
  probes: Record<WorkerDependency, DependencyProbe>;
  intervalMs: number;
  onPublishError: (error: unknown) => void;
  /**
   * Given the platform's view after each report: every live worker's reports merged (see
   * mergeWorkerReports), or this worker's own when Redis cannot be read; must not throw.
   */
  onReport?: (report: WorkerHealthReport) => void;
  /** The node whose host stats (memory, disk) go out with each report, for the operator console. */
  node?: NodeStatsSource;
}

export interface HealthReporter {
  /** Checks every dependency and publishes the report once; rejects if Redis is unreachable. */
  publishNow(): Promise<WorkerHealthReport>;
  /** Stops the timer; resolves once a report already under way has settled, so none lands after. */
  stop(): Promise<void>;
}

/**
 * Publishes the worker's view of its dependencies (and its node's host stats) every interval, with
 * a TTL so a dead worker's last report disappears instead of looking healthy forever.
 */
export function startHealthReporter(options: HealthReporterOptions): HealthReporter {
  // At least 2 s: a busy host's Docker can take over a second to answer a ping. At most 4 s, so a
  // dependency that hangs is reported down within the default 5 s interval.
  const timeoutMs = Math.min(4_000, Math.max(2_000, options.intervalMs));
  const streaks = new FailedCheckStreaks();
  const publishNow = async (): Promise<WorkerHealthReport> => {
    const names = Object.keys(options.probes) as WorkerDependency[];
    const checked = await Promise.all(names.map(async (name) => ({ name, status: await runDependencyCheck(options.probes[name], timeoutMs) })));
    const reportedAt = new Date().toISOString();
    const report: WorkerHealthReport = {
      workerId: options.workerId,
      reportedAt,
      dependencies: Object.fromEntries(checked.map(({ name, status }) => [name, streaks.record(name, status, reportedAt)])) as WorkerHealthReport['dependencies'],
    };
    let view = report;
    try {
      await Promise.all([publishWorkerReport(options.redis, report), options.node && publishNodeStats(options.redis, options.node)]);
      const live = (await readWorkerReports(options.redis)).flatMap((raw) => parseWorkerReport(raw) ?? []);
      view = mergeWorkerReports(live) ?? report;
    } finally {
      options.onReport?.(view);
    }
    return report;
  };

  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = publishNow()
      .then(() => undefined, options.onPublishError)
      .finally(() => {
        running = null;
      });
  }, options.intervalMs);
  timer.unref();

  return {
    publishNow,
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
