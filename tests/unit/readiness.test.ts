import { describe, expect, it } from 'vitest';
import { checkReadiness, type ReadinessProbes } from '../../api/src/health/readiness.js';
import type { WorkerHealthReport } from '../../worker/src/contracts/worker-health.js';

const now = new Date('2026-11-23T12:00:00Z');
const healthyReport: WorkerHealthReport = {
  workerId: 'w1',
  reportedAt: '2026-11-23T11:59:57Z',
  dependencies: {
    docker: { ok: true, detail: 'Docker 20.10', latencyMs: 3 },
    dns: { ok: true, detail: 'PowerDNS serves parley.test.', latencyMs: 2 },
    ca: { ok: true, detail: 'ACME directory', latencyMs: 9 },
  },
};

function probes(overrides: Partial<ReadinessProbes> = {}): ReadinessProbes {
  return {
    database: () => Promise.resolve('PostgreSQL 15'),
    redis: () => Promise.resolve('PONG'),
    readWorkerReports: () => Promise.resolve([JSON.stringify(healthyReport)]),
    ...overrides,
  };
}

describe('readiness', () => {
  it('is ready when every dependency is up, and says how old the worker report is', async () => {
    const report = await checkReadiness(probes(), 500, now);
    expect(report.status).toBe('ready');
    expect(report.down).toEqual([]);
    expect(report.checks.worker.detail).toBe('w1 reported 3 s ago');
    expect(report.checks.dns.detail).toBe('PowerDNS serves parley.test.');
  });

  it('names the database when it fails, with the reason', async () => {
    const report = await checkReadiness(probes({ database: () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:5432')) }), 500, now);
    expect(report.status).toBe('unavailable');
    expect(report.down).toEqual(['database']);
    expect(report.checks.database.detail).toContain('ECONNREFUSED');
  });

  it('treats a probe that hangs as down instead of hanging', async () => {
    const report = await checkReadiness(probes({ redis: () => new Promise(() => undefined) }), 100, now);
    expect(report.down).toEqual(['redis', 'worker', 'docker', 'dns', 'ca']);
    expect(report.checks.redis.detail).toBe('no answer within 100 ms');
    expect(report.checks.docker.detail).toContain('Redis is unreachable');
  });

  it('reports a missing worker and the dependencies only it can see', async () => {
    const report = await checkReadiness(probes({ readWorkerReports: () => Promise.resolve([]) }), 500, now);
    expect(report.down).toEqual(['worker', 'docker', 'dns', 'ca']);
    expect(report.checks.worker.detail).toContain('is the worker running?');
  });

  it('passes through what the worker saw of Docker, DNS and the CA', async () => {
    const report: WorkerHealthReport = {
      ...healthyReport,
      dependencies: { ...healthyReport.dependencies, ca: { ok: false, detail: 'ECONNREFUSED 127.0.0.1:14000', latencyMs: 1 } },
    };
    const result = await checkReadiness(probes({ readWorkerReports: () => Promise.resolve([JSON.stringify(report)]) }), 500, now);
    expect(result.down).toEqual(['ca']);
    expect(result.checks.ca.detail).toBe('ECONNREFUSED 127.0.0.1:14000');
  });

  it('does not trust a malformed report', async () => {
    const result = await checkReadiness(probes({ readWorkerReports: () => Promise.resolve(['{not json']) }), 500, now);
    expect(result.down).toEqual(['worker', 'docker', 'dns', 'ca']);
    expect(result.checks.worker.detail).toBe('the worker published an unreadable report');
  });

  it('with several workers, a dependency any of them sees down is down, naming that worker; each worker is listed', async () => {
    const second: WorkerHealthReport = {
      workerId: 'w2',
      reportedAt: '2026-11-23T11:59:59Z',
      dependencies: { ...healthyReport.dependencies, docker: { ok: false, detail: 'connect ENOENT /var/run/docker.sock', latencyMs: 1 } },
    };
    const result = await checkReadiness(probes({ readWorkerReports: () => Promise.resolve([JSON.stringify(healthyReport), JSON.stringify(second)]) }), 500, now);
    expect(result.down).toEqual(['docker']);
    expect(result.checks.docker.detail).toBe('w2: connect ENOENT /var/run/docker.sock');
    expect(result.checks.worker.detail).toBe('w1 reported 3 s ago, w2 reported 1 s ago');
    expect(result.checks.dns).toMatchObject({ ok: true, detail: 'PowerDNS serves parley.test.' });
  });

  it('reads past one unreadable report when another worker published a good one', async () => {
    const result = await checkReadiness(probes({ readWorkerReports: () => Promise.resolve(['{not json', JSON.stringify(healthyReport)]) }), 500, now);
    expect(result.status).toBe('ready');
    expect(result.checks.worker.detail).toBe('w1 reported 3 s ago');
  });
});
