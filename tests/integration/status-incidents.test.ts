import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrismaClient } from '../../prisma/client.js';
import { createAdapters } from '../../worker/src/adapters.js';
import { loadWorkerConfig } from '../../worker/src/config.js';
import { workerHealthKey, workerHealthReportSchema } from '../../worker/src/contracts/worker-health.js';
import { startHealthReporter, type HealthReporter } from '../../worker/src/health/health-reporter.js';
import { recordStatusIncidents, statusIncidentRecorder } from '../../worker/src/health/status-incidents.js';
import { RedisServer, freePort } from '../support/redis-server.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

let db: TestDatabase;
let redisServer: RedisServer;
let redis: Redis;

beforeAll(async () => {
  db = await createTestDatabase();
  redisServer = await RedisServer.start();
  redis = new Redis(redisServer.url);
});

afterAll(async () => {
  redis?.disconnect();
  await redisServer?.stop();
  await db?.drop();
});

const incidentsIn = (prisma: TestDatabase['prisma'], component: string) => prisma.platformIncident.findMany({ where: { component }, orderBy: { startedAt: 'asc' } });
const incidents = (component: string) => incidentsIn(db.prisma, component);
const at = (minute: number) => new Date(Date.UTC(2026, 10, 30, 12, minute));

// One component's outages in sequence: down, back, then down again.
describe('recording platform incidents', { shuffle: false }, () => {
  // A database of its own: the health reports' tests below open DNS incidents too, in either order.
  let records: TestDatabase;
  beforeAll(async () => {
    records = await createTestDatabase();
  });
  afterAll(async () => {
    await records?.drop();
  });

  it('opens one incident when a component goes down, however often it is seen down, and resolves it when it is back', async () => {
    await recordStatusIncidents(records.prisma, [{ component: 'dns', up: false }], at(0));
    await recordStatusIncidents(records.prisma, [{ component: 'dns', up: false }], at(1));
    // Two writers seeing it at once (two workers): still one.
    await Promise.all([1, 2].map((minute) => recordStatusIncidents(records.prisma, [{ component: 'dns', up: false }], at(minute))));
    const open = await incidentsIn(records.prisma, 'dns');
    expect(open).toEqual([expect.objectContaining({ component: 'dns', startedAt: at(0), resolvedAt: null })]);

    await recordStatusIncidents(records.prisma, [{ component: 'dns', up: true }], at(5));
    await recordStatusIncidents(records.prisma, [{ component: 'dns', up: true }], at(6));
    expect(await incidentsIn(records.prisma, 'dns')).toEqual([{ ...open[0], resolvedAt: at(5) }]);
  });

  it('opens a new incident when the component goes down again, and leaves the others alone', async () => {
    await recordStatusIncidents(records.prisma, [{ component: 'containers', up: false }], at(10));
    await recordStatusIncidents(
      records.prisma,
      [
        { component: 'dns', up: false },
        { component: 'containers', up: false },
        { component: 'certificates', up: true },
      ],
      at(11),
    );
    const dns = await incidentsIn(records.prisma, 'dns');
    expect(dns.map((incident) => [incident.startedAt, incident.resolvedAt])).toEqual([
      [at(0), at(5)],
      [at(11), null],
    ]);
    expect((await incidentsIn(records.prisma, 'containers')).map((incident) => [incident.startedAt, incident.resolvedAt])).toEqual([[at(10), null]]);
    expect(await incidentsIn(records.prisma, 'certificates')).toEqual([]);
  });
});

describe("from the worker's health reports", () => {
  let powerDns: TcpProxy;
  let reporter: HealthReporter;

  beforeAll(async () => {
    const config = loadWorkerConfig();
    if (config.dns.kind !== 'powerdns') throw new Error('the sandbox runs PowerDNS');
    const api = new URL(config.dns.apiUrl);
    // The real PowerDNS behind a relay this test can take down.
    powerDns = await TcpProxy.start({ host: api.hostname, port: Number(api.port) });
    api.port = String(powerDns.port);
    const adapters = createAdapters({ ...config, dns: { ...config.dns, apiUrl: api.toString().replace(/\/$/, '') } });
    reporter = startHealthReporter({
      redis,
      workerId: 'status-incidents-test',
      probes: { docker: () => adapters.containers.ping(), dns: () => adapters.dns.ping(), ca: () => adapters.ca.ping() },
      // Reports are made by publishNow below, not by the timer.
      intervalMs: 60_000,
      onPublishError: () => undefined,
      onReport: statusIncidentRecorder(db.prisma, pino({ level: 'silent' })),
    });
  });

  afterAll(async () => {
    await reporter?.stop();
    await powerDns?.down();
  });

  const openIncident = async () => (await incidents('dns')).find((incident) => incident.resolvedAt === null) ?? null;
  const reportedThenOpen = (from: HealthReporter) => async () => {
    await from.publishNow();
    return openIncident();
  };

  it('opens the DNS incident when the worker sees PowerDNS down twice in a row, started at the first, and resolves it once it answers again', async () => {
    await recordStatusIncidents(db.prisma, [{ component: 'dns', up: true }], new Date());
    await powerDns.down();
    const first = await reporter.publishNow();
    expect(first.dependencies.dns).toMatchObject({ ok: false, failedChecks: 1, downSince: first.reportedAt });
    // One failed check may be one slow answer: nothing opened yet.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await openIncident()).toBeNull();
    const second = await reporter.publishNow();
    expect(second.dependencies.dns).toMatchObject({ ok: false, failedChecks: 2, downSince: first.reportedAt });
    // The recorder skips a report while it still writes the one before: report until one is taken.
    await expect.poll(reportedThenOpen(reporter), { timeout: 10_000 }).toMatchObject({ startedAt: new Date(first.reportedAt) });
    // Still one, whatever the next reports say.
    await reporter.publishNow();
    await reporter.publishNow();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await incidents('dns')).filter((incident) => incident.resolvedAt === null)).toHaveLength(1);
    // Docker and the CA answer: nothing open for them (the containers incident left by the test before is resolved).
    await expect.poll(() => db.prisma.platformIncident.count({ where: { component: { in: ['containers', 'certificates'] }, resolvedAt: null } })).toBe(0);

    await powerDns.up();
    const back = await reporter.publishNow();
    expect(back.dependencies.dns?.ok).toBe(true);
    expect(back.dependencies.dns).not.toHaveProperty('failedChecks');
    await expect.poll(reportedThenOpen(reporter), { timeout: 10_000 }).toBeNull();
  });

  it('opens nothing for a failed check between passing ones, and the streak starts over after a pass', async () => {
    await powerDns.up();
    await reporter.publishNow();
    const before = await incidents('dns');
    for (const dnsUp of [false, true, false, true]) {
      await (dnsUp ? powerDns.up() : powerDns.down());
      const report = await reporter.publishNow();
      expect(report.dependencies.dns).toMatchObject(dnsUp ? { ok: true } : { ok: false, failedChecks: 1 });
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await incidents('dns')).toEqual(before);
  });

  it('with two workers that disagree, keeps the incident open while either sees the component down', async () => {
    await powerDns.up();
    const second = startHealthReporter({
      redis,
      workerId: 'second-worker',
      probes: { docker: () => Promise.resolve('up'), dns: () => Promise.reject(new Error('this worker cannot reach DNS')), ca: () => Promise.resolve('up') },
      intervalMs: 60_000,
      onPublishError: () => undefined,
      onReport: statusIncidentRecorder(db.prisma, pino({ level: 'silent' })),
    });
    try {
      await expect.poll(reportedThenOpen(second), { timeout: 10_000 }).not.toBeNull();
      const opened = await openIncident();
      // The first worker sees DNS up, but the platform's view is still down: nothing resolved.
      expect((await reporter.publishNow()).dependencies.dns?.ok).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await openIncident()).toEqual(opened);
      // The second worker's report gone (stopped, its TTL run out): the next report resolves it.
      await redis.del(workerHealthKey('second-worker'));
      await expect.poll(reportedThenOpen(reporter), { timeout: 10_000 }).toBeNull();
    } finally {
      await second.stop();
      await redis.del(workerHealthKey('second-worker'));
    }
  });

  it('keeps publishing the heartbeat while the database cannot take the incidents, and logs why', async () => {
    const lines: string[] = [];
    const deadDatabase = new URL(db.url);
    deadDatabase.port = String(await freePort());
    const unreachable = createPrismaClient(deadDatabase.toString());
    const adapters = createAdapters(loadWorkerConfig());
    const cut = startHealthReporter({
      redis,
      workerId: 'no-database',
      probes: { docker: () => adapters.containers.ping(), dns: () => Promise.reject(new Error('down for this test')), ca: () => adapters.ca.ping() },
      intervalMs: 60_000,
      onPublishError: () => undefined,
      onReport: statusIncidentRecorder(unreachable, pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) })),
    });
    try {
      await redis.del(workerHealthKey('no-database'));
      await cut.publishNow();
      const published = workerHealthReportSchema.parse(JSON.parse((await redis.get(workerHealthKey('no-database'))) ?? 'null'));
      expect(published.workerId).toBe('no-database');
      await expect.poll(() => lines.join('\n'), { timeout: 10_000 }).toContain('could not record the platform status incidents');
      // And the next heartbeat goes out as well.
      await redis.del(workerHealthKey('no-database'));
      await cut.publishNow();
      expect(await redis.get(workerHealthKey('no-database'))).not.toBeNull();
    } finally {
      await cut.stop();
      // Its view (DNS down) must not outlive the test in the other reporters' merged view.
      await redis.del(workerHealthKey('no-database'));
      await unreachable.$disconnect();
    }
  });
});
