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
    readWorkerReport: () => Promise.resolve(JSON.stringify(healthyReport)),
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
    const report = await checkReadiness(probes({ readWorkerReport: () => Promise.resolve(null) }), 500, now);
    expect(report.down).toEqual(['worker', 'docker', 'dns', 'ca']);
    expect(report.checks.worker.detail).toContain('is the worker running?');
  });

  it('passes through what the worker saw of Docker, DNS and the CA', async () => {
    const report: WorkerHealthReport = {
      ...healthyReport,
      dependencies: { ...healthyReport.dependencies, ca: { ok: false, detail: 'ECONNREFUSED 127.0.0.1:14000', latencyMs: 1 } },
    };
    const result = await checkReadiness(probes({ readWorkerReport: () => Promise.resolve(JSON.stringify(report)) }), 500, now);
    expect(result.down).toEqual(['ca']);
    expect(result.checks.ca.detail).toBe('ECONNREFUSED 127.0.0.1:14000');
  });

  it('does not trust a malformed report', async () => {
    const result = await checkReadiness(probes({ readWorkerReport: () => Promise.resolve('{not json') }), 500, now);
    expect(result.down).toEqual(['worker', 'docker', 'dns', 'ca']);
    expect(result.checks.worker.detail).toBe('the worker published an unreadable report');
  });
});
