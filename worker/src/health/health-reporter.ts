import type { Redis } from 'ioredis';
import { runDependencyCheck, type DependencyProbe } from '../contracts/dependency-check.js';
import {
  WORKER_HEALTH_KEY,
  WORKER_HEALTH_TTL_SECONDS,
  type WorkerDependency,
  type WorkerHealthReport,
} from '../contracts/worker-health.js';
import { publishNodeStats, type NodeStatsSource } from './node-stats.js';

export interface HealthReporterOptions {
  redis: Redis;
  workerId: string;
  probes: Record<WorkerDependency, DependencyProbe>;
  intervalMs: number;
  onPublishError: (error: unknown) => void;
  /** Given each report as soon as it is made, whether or not Redis takes it; must not throw. */
  onReport?: (report: WorkerHealthReport) => void;
  /** The node whose host stats (memory, disk) go out with each report, for the operator console. */
  node?: NodeStatsSource;
}

export interface HealthReporter {
  /** Checks every dependency and publishes the report once; rejects if Redis is unreachable. */
  publishNow(): Promise<WorkerHealthReport>;
  stop(): void;
}

/**
 * Publishes the worker's view of its dependencies (and its node's host stats) every interval, with
 * a TTL so a dead worker's last report disappears instead of looking healthy forever.
 */
export function startHealthReporter(options: HealthReporterOptions): HealthReporter {
  const timeoutMs = Math.min(4_000, Math.max(500, options.intervalMs));
  const publishNow = async (): Promise<WorkerHealthReport> => {
    const names = Object.keys(options.probes) as WorkerDependency[];
    const statuses = await Promise.all(names.map((name) => runDependencyCheck(options.probes[name], timeoutMs)));
    const report: WorkerHealthReport = {
      workerId: options.workerId,
      reportedAt: new Date().toISOString(),
      dependencies: Object.fromEntries(names.map((name, i) => [name, statuses[i]])) as WorkerHealthReport['dependencies'],
    };
    options.onReport?.(report);
    await Promise.all([
      options.redis.set(WORKER_HEALTH_KEY, JSON.stringify(report), 'EX', WORKER_HEALTH_TTL_SECONDS),
      options.node && publishNodeStats(options.redis, options.node),
    ]);
    return report;
  };

  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    publishNow()
      .catch(options.onPublishError)
      .finally(() => {
        running = false;
      });
  }, options.intervalMs);
  timer.unref();

  return { publishNow, stop: () => clearInterval(timer) };
}
