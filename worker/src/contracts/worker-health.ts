import { z } from 'zod';
import { dependencyStatusSchema, type DependencyStatus } from './dependency-check.js';

/**
 * The worker owns every side-effecting dependency (Docker, DNS, CA). Each worker process publishes
 * what it sees of them under a key of its own, so the API can report them without ever talking
 * to them itself, and one worker's view never hides another's.
 */
export const workerHealthKey = (workerId: string) => `parley:health:worker:${workerId}`;
/** The workers that reported: a sorted set of worker ids, scored by when their report expires (ms). */
export const WORKER_HEALTH_INDEX = 'parley:health:workers';
export const WORKER_HEALTH_TTL_SECONDS = 15;
export const WORKER_DEPENDENCIES = ['docker', 'dns', 'ca'] as const;
export type WorkerDependency = (typeof WORKER_DEPENDENCIES)[number];

export const workerHealthReportSchema = z.object({
  workerId: z.string(),
  reportedAt: z.iso.datetime(),
  dependencies: z.record(z.enum(WORKER_DEPENDENCIES), dependencyStatusSchema),
});
export type WorkerHealthReport = z.infer<typeof workerHealthReportSchema>;

/** A published report read back; null when it is not one (not JSON, or not the schema). */
export function parseWorkerReport(raw: string): WorkerHealthReport | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  const parsed = workerHealthReportSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/**
 * The platform's view from every live worker's report: a dependency is down when any worker sees
 * it down (that worker's jobs fail), each such worker named in the detail when there are several,
 * for the longest streak of failed checks any of them counts, since the earliest of them saw it.
 * The result's workerId lists the workers, its reportedAt is the oldest report's.
 */
export function mergeWorkerReports(reports: readonly WorkerHealthReport[]): WorkerHealthReport | null {
  const [first, ...rest] = reports;
  if (!first) return null;
  if (rest.length === 0) return first;
  const merge = (dependency: WorkerDependency): DependencyStatus => {
    const seen = reports.map((report) => ({ workerId: report.workerId, status: report.dependencies[dependency] }));
    const down = seen.filter((s) => !s.status.ok);
    const latencyMs = Math.max(...(down.length > 0 ? down : seen).map((s) => s.status.latencyMs));
    if (down.length === 0) return { ok: true, detail: first.dependencies[dependency].detail, latencyMs };
    const detail = down.map((s) => `${s.workerId}: ${s.status.detail}`).join('; ');
    const failedChecks = down.map((s) => s.status.failedChecks);
    const since = down.map((s) => s.status.downSince);
    return {
      ok: false,
      detail,
      latencyMs,
      // A worker older than these fields sends none; the merged view then has none either, as before them.
      ...(failedChecks.every((n) => n !== undefined) && { failedChecks: Math.max(...failedChecks) }),
      ...(since.every((at) => at !== undefined) && { downSince: earliest(since) }),
    };
  };
  const dependencies = Object.fromEntries(WORKER_DEPENDENCIES.map((d) => [d, merge(d)])) as WorkerHealthReport['dependencies'];
  return { workerId: reports.map((r) => r.workerId).join(', '), reportedAt: earliest(reports.map((r) => r.reportedAt)), dependencies };
}

/** The earliest of several ISO times, as given. */
const earliest = (times: readonly string[]) => times.reduce((a, b) => (Date.parse(a) <= Date.parse(b) ? a : b));
