import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVISIONING_QUEUE, SERVER_BACKUP_JOB } from '../../worker/src/contracts/provisioning.js';
import { nodeStatsKey, nodeStatsSchema } from '../../worker/src/contracts/node-stats.js';
import { startHealthReporter } from '../../worker/src/health/health-reporter.js';
import { snapshotDatabase } from '../support/api-db-snapshot.js';
import { sessionCookieOf, startApiHarness, withCookie, withToken, type ApiHarness, type TestAccount } from '../support/api-harness.js';
import { fetchSpec, operationsOf } from '../support/api-openapi.js';
import { readyServer } from '../support/api-tenant-fixtures.js';

interface Overview {
  nodes: { id: string; name: string; servers: number; committedMemoryMiB: number; memory: { totalBytes: number; availableBytes: number } | null; portsFree: number; disk: { totalBytes: number; freeBytes: number } | null; reportedAt: string | null }[];
  attention: { id: string; status: string; kind: string; server: { id: string; domain: string; accountEmail: string }; repairAttempts: number; lastErrorType: string | null; since: string }[];
  certificates: { server: { id: string; domain: string }; notAfter: string; failureCount: number }[];
  backups: { server: { id: string; domain: string }; lastSucceededAt: string | null; lastFailedAt: string | null; intervalMinutes: number; overdue: boolean }[];
  acmeBudget: { usedInWindow: number; limit: number; perCustomerLimit: number; windowMs: number };
  queues: { name: string; waiting: number; active: number; delayed: number; failed: number }[];
}
interface FailedJob {
  queue: string;
  id: string;
  name: string;
  serverId: string | null;
  serverDomain: string | null;
  errorType: string | null;
  reason: string;
  attemptsMade: number;
  finishedOn: string | null;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

let harness: ApiHarness;
let operator: TestAccount;
let customer: TestAccount;
let connection: Redis;
let queue: Queue;
let worker: Worker;
let workerConnection: Redis;
/** How often the test's worker has run each job: the first run throws, a retried one succeeds. */
const runs = new Map<string, number>();

beforeAll(async () => {
  harness = await startApiHarness();
  [operator, customer] = [await harness.signUp({ operator: true }), await harness.signUp()];
  connection = new Redis(harness.redis.url, { maxRetriesPerRequest: null });
  queue = new Queue(PROVISIONING_QUEUE, { connection });
  workerConnection = connection.duplicate();
  // A real worker whose processor throws the first time it runs a job, as a step meeting a CA that is down would.
  worker = new Worker(
    PROVISIONING_QUEUE,
    (job: Job) => {
      const run = (runs.get(job.id ?? '') ?? 0) + 1;
      runs.set(job.id ?? '', run);
      return run === 1 ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:14000 (the CA)')) : Promise.resolve('backed up');
    },
    { connection: workerConnection },
  );
});

afterAll(async () => {
  await worker?.close();
  await queue?.close();
  workerConnection?.disconnect();
  connection?.disconnect();
  await harness?.close();
});

const as = (account: TestAccount) => withToken(account);
const overview = async () => {
  const answer = await harness.inject({ method: 'GET', url: '/api/v1/operator/overview', headers: as(operator) });
  expect(answer.statusCode, answer.body).toBe(200);
  return answer.json<Overview>();
};
const failedJobs = async () => {
  const answer = await harness.inject({ method: 'GET', url: '/api/v1/operator/jobs/failed', headers: as(operator) });
  expect(answer.statusCode, answer.body).toBe(200);
  return answer.json<{ items: FailedJob[] }>().items;
};
const retry = (queueName: string, jobId: string, headers: Record<string, string> = as(operator)) =>
  harness.inject({ method: 'POST', url: `/api/v1/operator/jobs/${encodeURIComponent(queueName)}/${encodeURIComponent(jobId)}/retry`, headers, payload: {} });

/** Queues a job for a server of the customer's and waits until the test's worker has failed it. */
async function aFailedJob(serverId: string): Promise<Job> {
  const failed = once(worker, 'failed');
  const job = await queue.add(SERVER_BACKUP_JOB, { serverId, backupId: '00000000-0000-7000-8000-000000000001' }, { jobId: `backup.${randomBytes(6).toString('hex')}` });
  await failed;
  expect(await job.getState()).toBe('failed');
  return job;
}

async function aNode() {
  const name = `n${randomBytes(4).toString('hex')}`;
  const start = 20_000 + Math.floor(Math.random() * 40_000);
  return harness.prisma.node.create({
    data: { name, hostname: `${name}.${harness.config.platformZone}`, publicAddress: '127.0.0.1', dockerEndpoint: 'unix:///var/run/docker.sock', portRangeStart: start, portRangeEnd: start + 99 },
  });
}

describe('the operator console API', () => {
  it('is for operators only: every /operator route answers a customer 403, an anonymous caller 401, and changes nothing', async () => {
    const routes = operationsOf(await fetchSpec(harness)).filter((op) => op.path.startsWith('/api/v1/operator/'));
    expect(routes.map((op) => `${op.method} ${op.path}`).sort()).toEqual([
      'GET /api/v1/operator/health',
      'GET /api/v1/operator/jobs/failed',
      'GET /api/v1/operator/nodes',
      'GET /api/v1/operator/overview',
      'POST /api/v1/operator/jobs/{queue}/{jobId}/retry',
      'POST /api/v1/operator/moves',
      'POST /api/v1/operator/nodes/{id}/activate',
      'POST /api/v1/operator/nodes/{id}/drain',
    ]);
    const job = await aFailedJob((await readyServer(harness, customer)).id);
    const before = await snapshotDatabase(harness.prisma);
    for (const op of routes) {
      // The failed job for the retry route; any other parameter an operator route gains, an id nobody has.
      const url = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(({ queue: PROVISIONING_QUEUE, jobId: job.id ?? '' } as Record<string, string>)[name] ?? '00000000-0000-7000-8000-000000000000'));
      const body = op.method === 'GET' ? {} : { payload: {} };
      const asCustomer = await harness.inject({ method: op.method, url, headers: as(customer), ...body });
      expect(asCustomer.statusCode, `${op.method} ${op.path}`).toBe(403);
      expect(asCustomer.json<{ detail: string }>().detail).toMatch(/for Parley operators/);
      const anonymous = await harness.inject({ method: op.method, url, ...body });
      expect(anonymous.statusCode, `${op.method} ${op.path}`).toBe(401);
    }
    expect(await snapshotDatabase(harness.prisma)).toEqual(before);
    expect(await job.getState()).toBe('failed');
  });

  it('shows a node with the memory its servers commit and the host figures its worker published, and a node that has not reported as unknown', async () => {
    const [reporting, silent] = [await aNode(), await aNode()];
    const team = await harness.prisma.plan.findUniqueOrThrow({ where: { code: 'team' } });
    for (const port of [reporting.portRangeStart, reporting.portRangeStart + 4]) {
      const server = await readyServer(harness, customer);
      await harness.prisma.server.update({ where: { id: server.id }, data: { nodeId: reporting.id } });
      await harness.prisma.portAllocation.createMany({
        data: (['c2s', 'c2s_direct_tls', 's2s', 'https'] as const).map((purpose, i) => ({ nodeId: reporting.id, serverId: server.id, purpose, port: port + i })),
      });
    }
    // The worker's health reporter publishes the node's stats with its heartbeat (its dependency
    // probes answer at once here: they are not what this test is about).
    const up = () => Promise.resolve('up');
    const reporter = startHealthReporter({ redis: connection, workerId: 'operator-console-test', probes: { docker: up, dns: up, ca: up }, intervalMs: 60_000, onPublishError: () => undefined, node: { nodeName: reporting.name, diskPath: '/' } });
    await reporter.publishNow();
    await reporter.stop();
    const stats = nodeStatsSchema.parse(JSON.parse((await connection.get(nodeStatsKey(reporting.name))) ?? 'null'));
    expect(await connection.ttl(nodeStatsKey(reporting.name))).toBeGreaterThan(0);

    const nodes = (await overview()).nodes;
    expect(nodes.find((n) => n.id === reporting.id)).toEqual({
      id: reporting.id,
      name: reporting.name,
      state: 'active',
      servers: 2,
      committedMemoryMiB: 2 * team.memoryMiB,
      memory: stats.memory,
      portsFree: 100 - 8,
      disk: { totalBytes: stats.disk?.totalBytes, freeBytes: stats.disk?.freeBytes },
      reportedAt: stats.reportedAt,
    });
    expect(stats.memory.totalBytes).toBeGreaterThan(stats.memory.availableBytes);
    expect(stats.disk?.totalBytes).toBeGreaterThan(0);
    expect(nodes.find((n) => n.id === silent.id)).toMatchObject({ servers: 0, committedMemoryMiB: 0, memory: null, disk: null, reportedAt: null, portsFree: 100 });
  });

  it('shows an incident needing attention, a certificate expiring soon, an overdue backup, the ACME orders in the window and the queues', async () => {
    const server = await readyServer(harness, customer);
    const domain = (await harness.prisma.server.findUniqueOrThrow({ where: { id: server.id } })).domain;
    const now = Date.now();
    // Ready for three days on the Team plan (every 6 h), last backed up two days ago, failed since.
    await harness.prisma.server.update({ where: { id: server.id }, data: { readyAt: new Date(now - 3 * DAY_MS) } });
    await harness.prisma.serverBackup.createMany({
      data: [
        { serverId: server.id, kind: 'scheduled', status: 'succeeded', requestedAt: new Date(now - 2 * DAY_MS), finishedAt: new Date(now - 2 * DAY_MS + 5_000) },
        { serverId: server.id, kind: 'scheduled', status: 'failed', lastErrorType: 'backup_repository_unavailable', requestedAt: new Date(now - HOUR_MS), finishedAt: new Date(now - HOUR_MS + 5_000) },
      ],
    });
    const fresh = await readyServer(harness, customer);
    await harness.prisma.serverBackup.create({ data: { serverId: fresh.id, kind: 'scheduled', status: 'succeeded', finishedAt: new Date(now - 60_000) } });
    await harness.prisma.incident.create({
      data: { serverId: server.id, kind: 'container_stopped', status: 'needs_attention', repairAttempts: 5, lastError: 'container exited with code 1', lastErrorType: 'unknown', openedAt: new Date(now - 10 * 60_000) },
    });
    await harness.prisma.incident.create({ data: { serverId: server.id, kind: 'dns_record_missing', status: 'resolved', resolvedAt: new Date() } });
    await harness.prisma.certificate.create({
      data: { serverId: server.id, names: [domain], status: 'active', notBefore: new Date(now - 80 * DAY_MS), notAfter: new Date(now + 2 * DAY_MS), failureCount: 3, lastErrorType: 'acme_unavailable' },
    });
    await harness.prisma.certificate.create({ data: { serverId: fresh.id, names: ['x'], status: 'active', notAfter: new Date(now + 80 * DAY_MS) } });
    const key = await harness.prisma.encryptedSecret.create({ data: { purpose: 'acme_account_key', keyring: 'platform', keyVersion: 1, iv: Buffer.alloc(12), ciphertext: Buffer.from('x'), authTag: Buffer.alloc(16) } });
    const acmeAccount = await harness.prisma.acmeAccount.create({ data: { directoryUrl: `https://ca.example/${randomBytes(4).toString('hex')}`, keyId: key.id } });
    const windowMs = harness.config.acmeOrderLimits.windowMs;
    await harness.prisma.acmeOrder.createMany({
      data: [now - 60_000, now - 120_000, now - windowMs - 60_000].map((at) => ({ acmeAccountId: acmeAccount.id, serverId: server.id, accountId: customer.id, names: [domain], createdAt: new Date(at) })),
    });
    const waiting = await queue.add('test-delayed', {}, { delay: 3_600_000 });

    const view = await overview();
    expect(view.attention).toEqual([
      {
        id: expect.any(String) as string,
        status: 'needs_attention',
        kind: 'container_stopped',
        server: { id: server.id, domain, accountEmail: customer.email },
        repairAttempts: 5,
        lastErrorType: 'unknown',
        lastError: 'container exited with code 1',
        since: new Date(now - 10 * 60_000).toISOString(),
      },
    ]);
    expect(view.certificates[0]).toMatchObject({ server: { id: server.id, domain }, notAfter: new Date(now + 2 * DAY_MS).toISOString(), failureCount: 3, lastErrorType: 'acme_unavailable' });
    expect(view.certificates.map((c) => c.server.id)).toEqual([server.id, fresh.id]);
    const overdue = view.backups.find((b) => b.server.id === server.id);
    expect(overdue).toEqual({
      server: { id: server.id, domain },
      lastSucceededAt: new Date(now - 2 * DAY_MS + 5_000).toISOString(),
      lastFailedAt: new Date(now - HOUR_MS + 5_000).toISOString(),
      intervalMinutes: 360,
      overdue: true,
    });
    expect(view.backups.find((b) => b.server.id === fresh.id)).toMatchObject({ overdue: false, lastFailedAt: null });
    // Never backed up first (the other tests' servers), then the oldest success.
    const order = view.backups.map((b) => b.server.id);
    expect(order.indexOf(server.id)).toBeLessThan(order.indexOf(fresh.id));
    expect(view.backups.slice(0, order.indexOf(server.id)).every((b) => b.lastSucceededAt === null)).toBe(true);
    expect(view.acmeBudget).toEqual({ usedInWindow: 2, limit: harness.config.acmeOrderLimits.perAcmeAccount, perCustomerLimit: harness.config.acmeOrderLimits.perCustomer, windowMs });
    expect(view.queues.map((q) => q.name).sort()).toEqual(['provisioning', 'xmpp-users']);
    expect(view.queues.find((q) => q.name === 'provisioning')).toMatchObject({ delayed: 1, failed: await queue.getFailedCount() });
    await waiting.remove();
  });

  it('lists a failed job with its server and the error type its timeline recorded, retries it (audited), and it runs again', async () => {
    const server = await readyServer(harness, customer);
    const job = await aFailedJob(server.id);
    await harness.prisma.provisioningEvent.create({
      data: { serverId: server.id, step: SERVER_BACKUP_JOB, status: 'failed', message: 'the CA is down', errorType: 'acme_unavailable', willRetry: false, jobId: job.id ?? null },
    });

    const listed = (await failedJobs()).find((item) => item.id === job.id);
    expect(listed).toEqual({
      queue: PROVISIONING_QUEUE,
      id: job.id,
      name: SERVER_BACKUP_JOB,
      serverId: server.id,
      serverDomain: `${server.name}.${harness.config.platformZone}`,
      errorType: 'acme_unavailable',
      reason: 'connect ECONNREFUSED 127.0.0.1:14000 (the CA)',
      attemptsMade: 1,
      finishedOn: expect.stringMatching(/^\d{4}-/) as string,
    });

    const completed = once(worker, 'completed');
    const answer = await retry(PROVISIONING_QUEUE, job.id ?? '', withCookie(operator));
    expect(answer.statusCode, answer.body).toBe(202);
    expect(answer.json()).toEqual({ accepted: true, queue: PROVISIONING_QUEUE, jobId: job.id });
    await completed;
    expect(await queue.getJobState(job.id ?? '')).toBe('completed');
    expect(runs.get(job.id ?? '')).toBe(2);
    expect((await failedJobs()).some((item) => item.id === job.id)).toBe(false);

    const audit = await harness.prisma.auditLog.findFirstOrThrow({ where: { action: 'job.retry', targetId: server.id } });
    expect(audit).toMatchObject({ actorId: operator.id, actorKind: 'operator', targetType: 'server', subjectAccountId: customer.id, detail: { queue: PROVISIONING_QUEUE, jobId: job.id, job: SERVER_BACKUP_JOB } });
    // The server's owner reads in their log what was done to it.
    const theirs = await harness.inject({ method: 'GET', url: '/api/v1/audit?limit=100', headers: as(customer) });
    expect(theirs.json<{ items: { action: string; targetId: string }[] }>().items).toContainEqual(expect.objectContaining({ action: 'job.retry', targetId: server.id }));

    // A job with no server in its data is audited as the job itself.
    const bare = await (async () => {
      const failed = once(worker, 'failed');
      const added = await queue.add('sweep', {}, { jobId: `sweep.${randomBytes(4).toString('hex')}` });
      await failed;
      return added;
    })();
    expect((await failedJobs()).find((item) => item.id === bare.id)).toMatchObject({ serverId: null, serverDomain: null, errorType: null, reason: expect.stringContaining('ECONNREFUSED') as string });
    expect((await retry(PROVISIONING_QUEUE, bare.id ?? '')).statusCode).toBe(202);
    expect(await harness.prisma.auditLog.findFirst({ where: { action: 'job.retry', targetType: 'job', targetId: `${PROVISIONING_QUEUE}/${bare.id}` } })).not.toBeNull();
  });

  it('refuses a bad queue (400), an unknown job (404), a job that is not failed (409), a customer and a read-only operator token (403), each saying why and changing nothing', async () => {
    const server = await readyServer(harness, customer);
    const job = await aFailedJob(server.id);
    const done = await (async () => {
      const other = await aFailedJob(server.id);
      const completed = once(worker, 'completed');
      expect((await retry(PROVISIONING_QUEUE, other.id ?? '')).statusCode).toBe(202);
      await completed;
      return other;
    })();
    const login = await harness.inject({ method: 'POST', url: '/api/v1/sessions', payload: { email: operator.email, password: operator.password } });
    const readOnly = await harness.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { cookie: sessionCookieOf(login), 'x-csrf-token': login.json<{ csrfToken: string }>().csrfToken },
      payload: { name: 'read only', scope: 'operator_read', expiresInDays: 1 },
    });
    expect(readOnly.statusCode, readOnly.body).toBe(201);
    const readOnlyToken = { authorization: `Bearer ${readOnly.json<{ secret: string }>().secret}` };
    // The read-only token reads the console.
    expect((await harness.inject({ method: 'GET', url: '/api/v1/operator/jobs/failed', headers: readOnlyToken })).statusCode).toBe(200);

    const cases: { queue: string; jobId: string; headers?: Record<string, string>; status: number; says: RegExp }[] = [
      { queue: 'emails', jobId: job.id ?? '', status: 400, says: /queue must be a queue name: provisioning or xmpp-users/ },
      { queue: PROVISIONING_QUEUE, jobId: 'backup.nothing-like-it', status: 404, says: /The provisioning queue has no job backup\.nothing-like-it/ },
      { queue: 'xmpp-users', jobId: job.id ?? '', status: 404, says: /The xmpp-users queue has no job/ },
      { queue: PROVISIONING_QUEUE, jobId: done.id ?? '', status: 409, says: /is completed, not failed/ },
      { queue: PROVISIONING_QUEUE, jobId: job.id ?? '', headers: as(customer), status: 403, says: /for Parley operators/ },
      { queue: PROVISIONING_QUEUE, jobId: job.id ?? '', headers: readOnlyToken, status: 403, says: /for Parley operators/ },
    ];
    for (const c of cases) {
      const before = await snapshotDatabase(harness.prisma);
      const answer = await retry(c.queue, c.jobId, c.headers);
      const label = `${c.queue}/${c.jobId} -> ${answer.statusCode} ${answer.body}`;
      expect(answer.statusCode, label).toBe(c.status);
      expect(answer.headers['content-type'], label).toMatch(/^application\/problem\+json/);
      expect(answer.json<{ detail: string }>().detail, label).toMatch(c.says);
      expect(await snapshotDatabase(harness.prisma), `${label} changed the database`).toEqual(before);
    }
    expect(await job.getState()).toBe('failed');
    expect(runs.get(job.id ?? '')).toBe(1);
  });
});
