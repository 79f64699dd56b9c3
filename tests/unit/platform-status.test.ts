import { describe, expect, it } from 'vitest';
import { checkReadiness, type ReadinessProbes } from '../../api/src/health/readiness.js';
import { componentsOf, overallStatus } from '../../api/src/status/status.service.js';
import { PLATFORM_COMPONENTS, WORKER_DEPENDENCY_COMPONENTS } from '../../worker/src/contracts/platform-status.js';
import { WORKER_DEPENDENCIES, mergeWorkerReports, type WorkerHealthReport } from '../../worker/src/contracts/worker-health.js';
import { FailedCheckStreaks } from '../../worker/src/health/failed-check-streaks.js';
import { FAILED_CHECKS_FOR_INCIDENT, componentStates } from '../../worker/src/health/status-incidents.js';

const now = new Date('2026-11-30T12:00:00Z');
const up = (detail: string) => ({ ok: true, detail, latencyMs: 2 });
const down = (detail: string) => ({ ok: false, detail, latencyMs: 4_000 });

function workerReport(dependencies: Partial<WorkerHealthReport['dependencies']>): WorkerHealthReport {
  return { workerId: 'node-1:42', reportedAt: '2026-11-30T11:59:58Z', dependencies: dependencies as WorkerHealthReport['dependencies'] };
}
const healthy = workerReport({ docker: up('Docker 27.0'), dns: up('PowerDNS serves parley.test.'), ca: up('ACME directory at https://127.0.0.1:14000') });

function probes(overrides: Partial<ReadinessProbes> = {}): ReadinessProbes {
  return {
    database: () => Promise.resolve('PostgreSQL 15'),
    redis: () => Promise.resolve('PONG'),
    readWorkerReports: () => Promise.resolve([JSON.stringify(healthy)]),
    ...overrides,
  };
}

/** Each component's status by code, from readiness checked with these probes. */
async function statuses(overrides: Partial<ReadinessProbes> = {}) {
  const components = componentsOf(await checkReadiness(probes(overrides), 200, now));
  return { byCode: Object.fromEntries(components.map((c) => [c.code, c.status])), overall: overallStatus(components) };
}

describe("the worker's report as public components", () => {
  it('maps every dependency the worker checks to a component the status page shows', () => {
    for (const dependency of WORKER_DEPENDENCIES) expect(PLATFORM_COMPONENTS).toContain(WORKER_DEPENDENCY_COMPONENTS[dependency]);
    expect(WORKER_DEPENDENCY_COMPONENTS).toEqual({ docker: 'containers', dns: 'dns', ca: 'certificates' });
  });

  it('says each component up or down, nothing more; a report without a streak is taken at its word', () => {
    const report = workerReport({ docker: down('connect ECONNREFUSED /var/run/docker.sock'), dns: up('PowerDNS'), ca: down('no answer within 4000 ms') });
    const seen = new Date(report.reportedAt);
    expect(componentStates(report)).toEqual([
      { component: 'containers', up: false, since: seen },
      { component: 'dns', up: true },
      { component: 'certificates', up: false, since: seen },
    ]);
  });

  it('says a component down only once it failed enough checks in a row, and down since the first of them', () => {
    const streak = (failedChecks: number) => ({ ...down('no answer within 4000 ms'), failedChecks, downSince: '2026-11-30T11:59:30Z' });
    expect(FAILED_CHECKS_FOR_INCIDENT).toBe(2);
    expect(componentStates(workerReport({ docker: streak(1), dns: up('PowerDNS') }))).toEqual([{ component: 'dns', up: true }]);
    expect(componentStates(workerReport({ docker: streak(2) }))).toEqual([{ component: 'containers', up: false, since: new Date('2026-11-30T11:59:30Z') }]);
    expect(componentStates(workerReport({ docker: streak(7) }))).toEqual([{ component: 'containers', up: false, since: new Date('2026-11-30T11:59:30Z') }]);
  });

  it('says nothing of a dependency the report left out', () => {
    expect(componentStates(workerReport({ dns: up('PowerDNS') }))).toEqual([{ component: 'dns', up: true }]);
  });
});

describe("a worker's run of failed checks", () => {
  it('counts the failed checks of each dependency in a row, since the first, and starts over after a pass', () => {
    const streaks = new FailedCheckStreaks();
    expect(streaks.record('dns', down('refused'), '2026-11-30T12:00:00.000Z')).toEqual({ ...down('refused'), failedChecks: 1, downSince: '2026-11-30T12:00:00.000Z' });
    expect(streaks.record('docker', up('Docker 20.10'), '2026-11-30T12:00:00.000Z')).toEqual(up('Docker 20.10'));
    expect(streaks.record('dns', down('refused'), '2026-11-30T12:00:05.000Z')).toMatchObject({ failedChecks: 2, downSince: '2026-11-30T12:00:00.000Z' });
    expect(streaks.record('docker', down('timeout'), '2026-11-30T12:00:05.000Z')).toMatchObject({ failedChecks: 1, downSince: '2026-11-30T12:00:05.000Z' });
    expect(streaks.record('dns', up('PowerDNS'), '2026-11-30T12:00:10.000Z')).toEqual(up('PowerDNS'));
    expect(streaks.record('dns', down('refused'), '2026-11-30T12:00:15.000Z')).toMatchObject({ failedChecks: 1, downSince: '2026-11-30T12:00:15.000Z' });
  });

  it("merges several workers' streaks: the longest, since the earliest; none when a worker sent none", () => {
    const report = (workerId: string, dns: WorkerHealthReport['dependencies']['dns']) => ({ ...healthy, workerId, dependencies: { ...healthy.dependencies, dns } });
    const blip = report('node-2:7', { ...down('timeout'), failedChecks: 1, downSince: '2026-11-30T11:59:55.000Z' });
    const outage = report('node-3:9', { ...down('refused'), failedChecks: 4, downSince: '2026-11-30T11:59:40.000Z' });
    expect(mergeWorkerReports([healthy, blip])?.dependencies.dns).toMatchObject({ ok: false, failedChecks: 1, downSince: '2026-11-30T11:59:55.000Z' });
    expect(mergeWorkerReports([blip, healthy, outage])?.dependencies.dns).toMatchObject({ ok: false, failedChecks: 4, downSince: '2026-11-30T11:59:40.000Z' });
    const merged = mergeWorkerReports([blip, report('node-4:1', down('refused'))])?.dependencies.dns;
    expect(merged).toEqual({ ok: false, detail: 'node-2:7: timeout; node-4:1: refused', latencyMs: 4_000 });
  });
});

describe('the status page from readiness', () => {
  it('is operational with every dependency up, and names each component in plain words', async () => {
    const components = componentsOf(await checkReadiness(probes(), 200, now));
    expect(components).toEqual([
      { code: 'containers', name: 'Hosted servers', status: 'up' },
      { code: 'api', name: 'Ordering and dashboard', status: 'up' },
      { code: 'worker', name: 'Setting up and changing servers', status: 'up' },
      { code: 'dns', name: 'DNS', status: 'up' },
      { code: 'certificates', name: 'Certificates', status: 'up' },
    ]);
    expect(overallStatus(components)).toBe('operational');
  });

  it('is degraded with only the component of a failing worker dependency down', async () => {
    const broken = workerReport({ ...healthy.dependencies, dns: down('PowerDNS API: 500') });
    const { byCode, overall } = await statuses({ readWorkerReports: () => Promise.resolve([JSON.stringify(broken)]) });
    expect(byCode).toEqual({ containers: 'up', api: 'up', worker: 'up', dns: 'down', certificates: 'up' });
    expect(overall).toBe('degraded');
  });

  it('takes ordering and the worker down with the database, the rest keeps its state', async () => {
    const { byCode, overall } = await statuses({ database: () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:5432')) });
    expect(byCode).toEqual({ containers: 'up', api: 'down', worker: 'down', dns: 'up', certificates: 'up' });
    expect(overall).toBe('degraded');
  });

  it('counts everything the worker reports as down when no worker has reported', async () => {
    const { byCode, overall } = await statuses({ readWorkerReports: () => Promise.resolve([]) });
    expect(byCode).toEqual({ containers: 'down', api: 'up', worker: 'down', dns: 'down', certificates: 'down' });
    expect(overall).toBe('degraded');
  });

  it('is down when nothing is up (Redis gone: no queue and no worker report)', async () => {
    const { byCode, overall } = await statuses({ redis: () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6379')) });
    expect(Object.values(byCode)).toEqual(['down', 'down', 'down', 'down', 'down']);
    expect(overall).toBe('down');
  });
});
