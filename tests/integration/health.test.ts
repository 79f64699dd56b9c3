import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/src/app.js';
import { loadApiConfig } from '../../api/src/config.js';
import { createReadinessProbes } from '../../api/src/health/readiness-probes.js';
import { seedPlans } from '../../prisma/seed.js';
import { loadWorkerConfig } from '../../worker/src/config.js';
import { createAdapters } from '../../worker/src/adapters.js';
import { startHealthReporter, type HealthReporter } from '../../worker/src/health/health-reporter.js';
import { RedisServer } from '../support/redis-server.js';
import { workerHealthKey } from '../../worker/src/contracts/worker-health.js';
import { signUpThrough, withToken, type TestAccount } from '../support/api-harness.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

interface ReadyBody {
  status: string;
  down: string[];
  checks: Record<string, string>;
}

interface OperatorReport {
  status: string;
  down: string[];
  checks: Record<string, { ok: boolean; detail: string }>;
}

describe('/health endpoints against the real services', () => {
  let redisServer: RedisServer;
  let apiRedis: Redis;
  let workerRedis: Redis;
  let db: TestDatabase;
  let operator: TestAccount;
  let reporter: HealthReporter;
  let startReporter: () => HealthReporter;
  let app: FastifyInstance;

  const ready = async () => {
    const response = await app.inject({ method: 'GET', url: '/health/ready' });
    return { status: response.statusCode, body: response.json<ReadyBody>() };
  };
  const details = async (as: TestAccount) => {
    const response = await app.inject({ method: 'GET', url: '/api/v1/operator/health', headers: withToken(as) });
    return { status: response.statusCode, body: response.json<OperatorReport>() };
  };

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    const apiConfig = { ...loadApiConfig(), redisUrl: redisServer.url, healthCheckTimeoutMs: 1_000 };
    const workerConfig = loadWorkerConfig();
    const fastFail = { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 100 };
    apiRedis = new Redis(redisServer.url, fastFail);
    workerRedis = new Redis(redisServer.url, fastFail);
    for (const client of [apiRedis, workerRedis]) client.on('error', () => undefined);
    // Without an offline queue, a command sent before the connection is up fails at once.
    await Promise.all([apiRedis, workerRedis].filter((client) => client.status !== 'ready').map((client) => once(client, 'ready')));
    db = await createTestDatabase();
    await seedPlans(db.prisma);
    const adapters = createAdapters(workerConfig);
    startReporter = () =>
      startHealthReporter({
        redis: workerRedis,
        workerId: 'health-test',
        probes: { docker: () => adapters.containers.ping(), dns: () => adapters.dns.ping(), ca: () => adapters.ca.ping() },
        intervalMs: 250,
        onPublishError: () => undefined,
      });
    reporter = startReporter();
    app = buildApp({ config: { ...apiConfig, databaseUrl: db.url, logLevel: 'silent' }, readiness: createReadinessProbes(db.prisma, apiRedis) });
    await app.ready();
    operator = await signUpThrough(app, db.prisma, { operator: true });
  });

  afterAll(async () => {
    await reporter.stop();
    await app.close();
    await db.drop();
    apiRedis.disconnect();
    workerRedis.disconnect();
    await redisServer.stop();
  });

  it('live answers without touching any dependency', async () => {
    const response = await app.inject({ method: 'GET', url: '/health/live' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'live' });
  });

  it('ready is green with every dependency reached for real, saying only "up" to the public', async () => {
    await reporter.publishNow();
    const { status, body } = await ready();
    expect(body.down).toEqual([]);
    expect(status).toBe(200);
    expect(body.checks).toEqual({ database: 'up', redis: 'up', worker: 'up', docker: 'up', dns: 'up', ca: 'up' });
  });

  it('gives operators each dependency\'s reason, and nobody else', async () => {
    const { status, body } = await details(operator);
    expect(status).toBe(200);
    expect(body.checks.database?.detail).toMatch(/^PostgreSQL \d+/);
    expect(body.checks.redis?.detail).toContain('PONG');
    expect(body.checks.docker?.detail).toMatch(/^Docker \d+/);
    expect(body.checks.dns?.detail).toMatch(/^PowerDNS serves /);
    expect(body.checks.ca?.detail).toMatch(/^ACME directory at https:/);

    const customer = await signUpThrough(app, db.prisma);
    expect((await details(customer)).status).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/api/v1/operator/health' })).statusCode).toBe(401);
  });

  it('turns 503 naming Redis while Redis is stopped, and 200 again after it restarts', async () => {
    await redisServer.pause();
    const during = await ready();
    expect(during.status).toBe(503);
    expect(during.body.down).toContain('redis');
    expect(during.body.checks.redis).toBe('down');
    expect(during.body.checks.database).toBe('up');
    expect(JSON.stringify(during.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|:\d{4}/);

    await redisServer.resume();
    let after = await ready();
    for (let attempt = 0; attempt < 100 && after.status !== 200; attempt++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await ready();
    }
    expect(after.body.down).toEqual([]);
    expect(after.status).toBe(200);
  });

  it('publishes nothing once stopped, not even a report that was under way', async () => {
    let probing!: () => void;
    const probeStarted = new Promise<void>((resolve) => (probing = resolve));
    const slow = startHealthReporter({
      redis: workerRedis,
      workerId: 'health-test-slow',
      probes: {
        docker: async () => {
          probing();
          await new Promise((resolve) => setTimeout(resolve, 300));
          return 'up';
        },
        dns: () => Promise.resolve('up'),
        ca: () => Promise.resolve('up'),
      },
      intervalMs: 50,
      onPublishError: () => undefined,
    });
    await probeStarted;
    await slow.stop();
    await apiRedis.del(workerHealthKey('health-test-slow'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await apiRedis.exists(workerHealthKey('health-test-slow'))).toBe(0);
  });

  it('names the worker when it stops reporting', async () => {
    await reporter.stop();
    await apiRedis.del(workerHealthKey('health-test'));
    try {
      const { status, body } = await ready();
      expect(status).toBe(503);
      expect(body.down).toEqual(['worker', 'docker', 'dns', 'ca']);
    } finally {
      // Reporting again, as a restarted worker would, so the tests after this one find it up.
      reporter = startReporter();
      await reporter.publishNow();
    }
  });
});
