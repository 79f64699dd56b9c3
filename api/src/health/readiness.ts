import { runDependencyCheck, type DependencyProbe, type DependencyStatus } from '../../../worker/src/contracts/dependency-check.js';
import {
  WORKER_DEPENDENCIES,
  WORKER_HEALTH_TTL_SECONDS,
  mergeWorkerReports,
  parseWorkerReport,
  type WorkerDependency,
} from '../../../worker/src/contracts/worker-health.js';

export interface ReadinessProbes {
  database: DependencyProbe;
  redis: DependencyProbe;
  /** Every live worker's latest published report (raw JSON); none when no worker reported. */
  readWorkerReports: () => Promise<string[]>;
}

export type CheckName = 'database' | 'redis' | 'worker' | WorkerDependency;

export interface ReadinessReport {
  status: 'ready' | 'unavailable';
  down: CheckName[];
  checks: Record<CheckName, DependencyStatus>;
}

/** What anyone may see: up or down per dependency, without the reasons. */
export function publicReadiness(report: ReadinessReport): { status: ReadinessReport['status']; down: CheckName[]; checks: Record<CheckName, 'up' | 'down'> } {
  const checks = Object.fromEntries(Object.entries(report.checks).map(([name, check]) => [name, check.ok ? 'up' : 'down'])) as Record<CheckName, 'up' | 'down'>;
  return { status: report.status, down: report.down, checks };
}

const unknown = (detail: string): DependencyStatus => ({ ok: false, detail, latencyMs: 0 });

/**
 * The API checks its own dependencies (Postgres, Redis) directly, and reports Docker, DNS and the
 * CA as the worker last saw them: the API never talks to those itself.
 */
export async function checkReadiness(probes: ReadinessProbes, timeoutMs: number, now = new Date()): Promise<ReadinessReport> {
  const [database, redis] = await Promise.all([
    runDependencyCheck(probes.database, timeoutMs),
    runDependencyCheck(probes.redis, timeoutMs),
  ]);
  const fromWorker = redis.ok
    ? await readWorkerChecks(probes, timeoutMs, now)
    : withWorkerDependencies(unknown('unknown: Redis is unreachable, so the worker cannot report'));
  const checks: Record<CheckName, DependencyStatus> = { database, redis, ...fromWorker };
  const down = (Object.keys(checks) as CheckName[]).filter((name) => !checks[name].ok);
  return { status: down.length === 0 ? 'ready' : 'unavailable', down, checks };
}

async function readWorkerChecks(probes: ReadinessProbes, timeoutMs: number, now: Date) {
  let raws: string[] = [];
  const read = await runDependencyCheck(async () => {
    raws = await probes.readWorkerReports();
    return 'read';
  }, timeoutMs);
  if (!read.ok) return withWorkerDependencies(unknown(`unknown: could not read the worker's report (${read.detail})`));
  if (raws.length === 0) {
    return withWorkerDependencies(
      unknown(`no worker has reported in the last ${WORKER_HEALTH_TTL_SECONDS} s: is the worker running?`),
    );
  }
  const reports = raws.flatMap((raw) => parseWorkerReport(raw) ?? []);
  const merged = mergeWorkerReports(reports);
  if (!merged) return withWorkerDependencies(unknown('the worker published an unreadable report'));
  const ages = reports.map((report) => `${report.workerId} reported ${Math.max(0, Math.round((now.getTime() - Date.parse(report.reportedAt)) / 1000))} s ago`);
  const dependencies = Object.fromEntries(
    WORKER_DEPENDENCIES.map((name) => [name, merged.dependencies[name] ?? unknown('the worker did not report it')]),
  ) as Record<WorkerDependency, DependencyStatus>;
  return { worker: { ok: true, detail: ages.join(', '), latencyMs: 0 }, ...dependencies };
}

function withWorkerDependencies(status: DependencyStatus): Record<'worker' | WorkerDependency, DependencyStatus> {
  return { worker: status, docker: status, dns: status, ca: status };
}
