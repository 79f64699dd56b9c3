import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/src/app.js';
import { STATUS_CACHE_MS } from '../../api/src/status/status.service.js';
import { workerHealthKey, type WorkerHealthReport } from '../../worker/src/contracts/worker-health.js';
import { publishWorkerReport } from '../../worker/src/contracts/worker-health-store.js';
import { startApiHarness, withToken, type ApiHarness } from '../support/api-harness.js';
import { freePort } from '../support/redis-server.js';

interface StatusAnswer {
  status: 'operational' | 'degraded' | 'down';
  checkedAt: string;
  components: { code: string; name: string; status: 'up' | 'down' }[];
  incidents: { component: string; name: string; startedAt: string; resolvedAt: string | null }[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const now = Date.now();
const customerDomain = `status-${now.toString(36)}.example.org`;
/** What a real worker's report carries for operators: addresses, versions, its host. */
const workerReport = (): WorkerHealthReport => ({
  workerId: `${hostname()}:4242`,
  reportedAt: new Date().toISOString(),
  dependencies: {
    docker: { ok: true, detail: 'Docker 27.3.1 (API 1.47) on /var/run/docker.sock', latencyMs: 3 },
    dns: { ok: true, detail: 'PowerDNS 4.8.3 at http://127.0.0.1:8081 serves parley.test.', latencyMs: 2 },
    ca: { ok: true, detail: 'ACME directory https://127.0.0.1:14000/dir answered', latencyMs: 9 },
  },
});

let harness: ApiHarness;
let redis: Redis;

const status = async (headers: Record<string, string> = {}) => {
  const answer = await harness.inject({ method: 'GET', url: '/api/v1/status', headers });
  expect(answer.statusCode, answer.body).toBe(200);
  return { answer, body: answer.json<StatusAnswer>() };
};
const componentStatuses = (body: StatusAnswer) => Object.fromEntries(body.components.map((c) => [c.code, c.status]));

beforeAll(async () => {
  harness = await startApiHarness();
  redis = new Redis(harness.redis.url);
  await publishWorkerReport(redis, workerReport());
  // A customer with a domain of their own: nothing of it may reach the public page.
  const customer = await harness.signUp();
  const added = await harness.inject({ method: 'POST', url: '/api/v1/domains', headers: withToken(customer), payload: { name: customerDomain } });
  expect(added.statusCode, added.body).toBe(201);
  // Written before the first request, which the answer's cache then keeps for a few seconds.
  await harness.prisma.platformIncident.createMany({
    data: [
      { component: 'dns', startedAt: new Date(now - HOUR) },
      { component: 'containers', startedAt: new Date(now - 3 * DAY), resolvedAt: new Date(now - 3 * DAY + 20 * 60_000) },
      { component: 'certificates', startedAt: new Date(now - 20 * DAY), resolvedAt: new Date(now - 19 * DAY) },
      { component: 'internal-thing', startedAt: new Date(now - 2 * HOUR), resolvedAt: new Date(now - HOUR) },
    ],
  });
});

afterAll(async () => {
  redis?.disconnect();
  await harness?.close();
});

describe('GET /api/v1/status', () => {
  it('answers anyone, without credentials, with every component up and the platform operational', async () => {
    const { answer, body } = await status();
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.headers['cache-control']).toBe(`public, max-age=${STATUS_CACHE_MS / 1000}`);
    expect(body.status).toBe('operational');
    expect(Date.parse(body.checkedAt)).toBeGreaterThan(now - 60_000);
    expect(body.components).toEqual([
      { code: 'containers', name: 'Hosted servers', status: 'up' },
      { code: 'api', name: 'Ordering and dashboard', status: 'up' },
      { code: 'worker', name: 'Setting up and changing servers', status: 'up' },
      { code: 'dns', name: 'DNS', status: 'up' },
      { code: 'certificates', name: 'Certificates', status: 'up' },
    ]);
    expect(Object.keys(body).sort()).toEqual(['checkedAt', 'components', 'incidents', 'status']);
  });

  it('answers a logged-in customer the same', async () => {
    const anonymous = (await status()).body;
    expect((await status(withToken(await harness.signUp()))).body).toEqual(anonymous);
  });

  it('lists the incidents of the last 14 days newest first, an ongoing one without an end, and nothing older or unknown', async () => {
    const { body } = await status();
    expect(body.incidents).toEqual([
      { component: 'dns', name: 'DNS', startedAt: new Date(now - HOUR).toISOString(), resolvedAt: null },
      {
        component: 'containers',
        name: 'Hosted servers',
        startedAt: new Date(now - 3 * DAY).toISOString(),
        resolvedAt: new Date(now - 3 * DAY + 20 * 60_000).toISOString(),
      },
    ]);
  });

  it('shows nothing internal: no host, address, version, error text, worker or customer', async () => {
    const { answer } = await status();
    const text = answer.body;
    const report = workerReport();
    const forbidden = [
      hostname(),
      report.workerId,
      harness.config.platformZone,
      new URL(harness.config.databaseUrl).hostname,
      new URL(harness.config.databaseUrl).port,
      new URL(harness.config.databaseUrl).pathname.slice(1),
      new URL(harness.config.redisUrl).port,
      customerDomain,
      'PostgreSQL',
      'Redis',
      'Docker',
      'PowerDNS',
      'ACME',
      'internal-thing',
      ...Object.values(report.dependencies).map((dependency) => dependency.detail),
    ];
    for (const value of forbidden) expect(text, value).not.toContain(value);
    expect(text).not.toMatch(/\b\d{1,3}(\.\d{1,3}){3}\b/);
    expect(text).not.toMatch(/latency|detail|version|ms\b/i);
  });

  it('reuses one answer for a few seconds, then shows the worker-backed components down once no worker reports', async () => {
    // An answer computed just now, so the one cached stays for the next request.
    const earlier = (await status()).body;
    let first = earlier;
    await expect
      .poll(
        async () => {
          first = (await status()).body;
          return first.checkedAt;
        },
        { timeout: STATUS_CACHE_MS + 5_000, interval: 50 },
      )
      .not.toBe(earlier.checkedAt);
    await redis.del(workerHealthKey(workerReport().workerId));
    // Still the cached answer: the same check, not a new one per request.
    expect((await status()).body).toEqual(first);

    let latest = first;
    await expect
      .poll(
        async () => {
          latest = (await status()).body;
          return componentStatuses(latest);
        },
        { timeout: STATUS_CACHE_MS + 10_000, interval: 500 },
      )
      .toEqual({ containers: 'down', api: 'up', worker: 'down', dns: 'down', certificates: 'down' });
    expect(['degraded', 'down']).toContain(latest.status);
    expect(latest.checkedAt > first.checkedAt).toBe(true);
    // The history does not depend on the worker.
    expect(latest.incidents).toHaveLength(2);
  });

  it('still answers 200 while the database is down: the components that need it down, no incidents', async () => {
    const databaseUrl = new URL(harness.config.databaseUrl);
    databaseUrl.port = String(await freePort());
    await publishWorkerReport(redis, workerReport());
    const app = buildApp({ config: { ...harness.config, databaseUrl: databaseUrl.toString(), healthCheckTimeoutMs: 1_000 } });
    try {
      // Without credentials (the dashboard's status page sends none), nothing waits for the database.
      const answer = await app.inject({ method: 'GET', url: '/api/v1/status' });
      expect(answer.statusCode, answer.body).toBe(200);
      const body = answer.json<StatusAnswer>();
      expect(componentStatuses(body)).toEqual({ containers: 'up', api: 'down', worker: 'down', dns: 'up', certificates: 'up' });
      expect(body.status).toBe('degraded');
      expect(body.incidents).toEqual([]);
      expect(answer.body).not.toContain(databaseUrl.port);
    } finally {
      await app.close();
    }
  });
});
