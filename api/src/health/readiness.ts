import { runDependencyCheck, type DependencyProbe, type DependencyStatus } from '../../../worker/src/contracts/dependency-check.js';
import {
  WORKER_DEPENDENCIES,
  WORKER_HEALTH_TTL_SECONDS,
  workerHealthReportSchema,
  type WorkerDependency,
} from '../../../worker/src/contracts/worker-health.js';

export interface ReadinessProbes {
  database: DependencyProbe;
  redis: DependencyProbe;
  /** The worker's latest published report (raw JSON), or null when none is live. */
  readWorkerReport: () => Promise<string | null>;
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
  let raw: string | null = null;
  const read = await runDependencyCheck(async () => {
    raw = await probes.readWorkerReport();
    return 'read';
  }, timeoutMs);
  if (!read.ok) return withWorkerDependencies(unknown(`unknown: could not read the worker's report (${read.detail})`));
  if (raw === null) {
    return withWorkerDependencies(
      unknown(`no worker has reported in the last ${WORKER_HEALTH_TTL_SECONDS} s: is the worker running?`),
    );
  }
  const parsed = workerHealthReportSchema.safeParse(parseJson(raw));
  if (!parsed.success) return withWorkerDependencies(unknown('the worker published an unreadable report'));
  const report = parsed.data;
  const ageSeconds = Math.max(0, Math.round((now.getTime() - Date.parse(report.reportedAt)) / 1000));
  const dependencies = Object.fromEntries(
    WORKER_DEPENDENCIES.map((name) => [name, report.dependencies[name] ?? unknown('the worker did not report it')]),
  ) as Record<WorkerDependency, DependencyStatus>;
  return { worker: { ok: true, detail: `${report.workerId} reported ${ageSeconds} s ago`, latencyMs: 0 }, ...dependencies };
}

function withWorkerDependencies(status: DependencyStatus): Record<'worker' | WorkerDependency, DependencyStatus> {
  return { worker: status, docker: status, dns: status, ca: status };
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
