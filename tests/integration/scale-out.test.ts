import { hostname } from 'node:os';
import Docker from 'dockerode';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVISION_STEPS, PROVISIONING_QUEUE, stepJobId } from '../../worker/src/contracts/provisioning.js';
import { loadApiConfig } from '../../api/src/config.js';
import { signUpOperator, signUpWithToken, type ApiRequest } from '../support/platform-api.js';
import { PlatformProcess } from '../support/platform-process.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { freePort } from '../support/redis-server.js';
import { tearDownAll } from '../support/tear-down.js';
import { testEnv } from '../support/test-env.js';
import { until } from '../support/until.js';

interface ServerDto {
  id: string;
  name: string;
  state: string;
  stateReason: string | null;
}

interface Api {
  process: PlatformProcess;
  url: string;
}

// The control plane run as production scales it out: two API processes and two worker processes
// on one database and one Redis, every request over HTTP, each process its own entry point.
describe.sequential('two APIs and two workers at once', { shuffle: false }, () => {
  const docker = new Docker({ socketPath: testEnv().DOCKER_SOCKET });
  let harness: ProvisioningHarness;
  let queue: Queue;
  let connection: Redis;
  const workers: PlatformProcess[] = [];
  const apis: Api[] = [];
  /** The customer's requests, one function per API: the same token works on both. */
  let through: [ApiRequest, ApiRequest];
  let operator: ApiRequest;
  /** Every server ordered here, by id, with the name deleting it takes. */
  const ordered = new Map<string, string>();

  const workerEnv = () => ({ ...harness.workerEnv(), HEALTH_REPORT_INTERVAL_MS: '1000' });

  async function startApi(): Promise<Api> {
    const port = await freePort();
    const process = PlatformProcess.api({
      DATABASE_URL: harness.db.url,
      REDIS_URL: harness.redis.url,
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
      API_METRICS_ADDRESS: '',
      LOG_LEVEL: 'warn',
    });
    const url = `http://127.0.0.1:${port}`;
    await until(`the API on port ${port} answering`, async () => ((await fetch(`${url}/health/live`).catch(() => null))?.ok ? true : null), 30_000, 200);
    return { process, url };
  }

  async function json<T>(response: Promise<Response>, status: number): Promise<T> {
    const received = await response;
    const text = await received.text();
    expect(received.status, text).toBe(status);
    return JSON.parse(text) as T;
  }

  const untilReady = (request: ApiRequest, id: string) =>
    until(
      `server ${id} ready`,
      async () => {
        const server = await json<ServerDto>(request('GET', `/servers/${id}`), 200);
        if (server.state === 'failed') throw new Error(`server ${id} failed: ${server.stateReason ?? '(no reason)'}`);
        return server.state === 'ready' ? server : null;
      },
      120_000,
      500,
    );

  /** One container, two volumes, each step done once, and the ports nobody else holds. */
  async function expectProvisionedOnce(serverIds: string[]): Promise<void> {
    for (const serverId of serverIds) {
      const labelled = { label: [`parley.server=${serverId}`] };
      expect(await docker.listContainers({ all: true, filters: labelled })).toHaveLength(1);
      expect((await docker.listVolumes({ filters: labelled })).Volumes ?? []).toHaveLength(2);
      const events = await harness.prisma.provisioningEvent.findMany({ where: { serverId, status: 'succeeded' } });
      for (const step of PROVISION_STEPS) expect(events.filter((e) => e.step === step), `${serverId} ${step}`).toHaveLength(1);
      expect(await harness.prisma.certificate.count({ where: { serverId, status: 'active' } })).toBe(1);
    }
    const ports = await harness.prisma.portAllocation.findMany({ where: { serverId: { in: serverIds } } });
    expect(ports).toHaveLength(serverIds.length * 4);
    expect(new Set(ports.map((p) => p.port)).size).toBe(ports.length);
  }

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(22_400);
    connection = new Redis(harness.redis.url, { maxRetriesPerRequest: null });
    queue = new Queue(PROVISIONING_QUEUE, { connection });
    workers.push(PlatformProcess.worker(workerEnv()), PlatformProcess.worker(workerEnv()));
    apis.push(...(await Promise.all([startApi(), startApi()])));
    const [a, b] = apis as [Api, Api];
    const customer = await signUpWithToken(a.url);
    through = [customer, await tokenOn(b.url, customer)];
    operator = await signUpOperator(b.url, harness.prisma);
  }, 120_000);

  /** A second token of the customer's, minted through API A and sent to `url`: both read the one database. */
  async function tokenOn(url: string, request: ApiRequest): Promise<ApiRequest> {
    const minted = await json<{ secret: string }>(request('POST', '/tokens', { name: 'second api' }), 201);
    return (method, path, body) =>
      fetch(`${url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${minted.secret}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
  }

  afterAll(async () => {
    await tearDownAll([
      async () => {
        if (ordered.size === 0) return;
        // Whatever a failed test left: deleted by a worker of this file's own.
        if (!workers.some((w) => w.running)) workers.push(PlatformProcess.worker(workerEnv()));
        for (const serverId of ordered.keys()) await harness.deprovision(serverId);
        await Promise.all([...ordered.keys()].map((serverId) => harness.waitForState(serverId, 'deleted', 90_000)));
      },
      ...apis.map((api) => () => api.process.stop().then(() => undefined)),
      ...workers.map((worker) => () => worker.stop().then(() => undefined)),
      () => queue.close(),
      () => Promise.resolve(connection.disconnect()),
      () => harness.close(),
    ]);
  }, 180_000);

  it('each API reports both workers, each by its own heartbeat', async () => {
    const [a, b] = workers as [PlatformProcess, PlatformProcess];
    const health = await until(
      'both workers in the operators\' health report',
      async () => {
        const report = await json<{ checks: { worker: { detail: string } } }>(operator('GET', '/operator/health'), 200);
        const detail = report.checks.worker.detail;
        return detail.includes(`:${a.pid} reported`) && detail.includes(`:${b.pid} reported`) ? report : null;
      },
      30_000,
      500,
    );
    expect(health.checks.worker.detail.split(', ')).toHaveLength(2);
  });

  it('orders taken by both APIs at once are each provisioned exactly once, the steps shared by both workers', async () => {
    const [a, b] = through;
    const servers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => json<ServerDto>((i % 2 === 0 ? a : b)('POST', '/servers', { name: `so${i}${Date.now().toString(36)}` }), 202)),
    );
    for (const server of servers) ordered.set(server.id, server.name);
    // Each polled through the other API than the one that took the order.
    await Promise.all(servers.map((server, i) => untilReady(i % 2 === 0 ? b : a, server.id)));
    await expectProvisionedOnce(servers.map((s) => s.id));

    const ranBy = new Set<string>();
    for (const server of servers) {
      for (const step of PROVISION_STEPS) {
        const job = await queue.getJob(stepJobId(server.id, step));
        expect(job?.processedBy, `${server.id} ${step}`).toMatch(/:\d+$/);
        ranBy.add(job?.processedBy ?? '');
      }
    }
    // Both workers took steps of these orders (BullMQ records each job's worker by name).
    expect([...ranBy].sort()).toEqual(workers.map((w) => `${hostname()}:${w.pid}`).sort());
  }, 180_000);

  it('an order taken by one API streams its timeline live through the other', async () => {
    const [a, b] = through;
    const server = await json<ServerDto>(a('POST', '/servers', { name: `sse${Date.now().toString(36)}` }), 202);
    ordered.set(server.id, server.name);
    const response = await b('GET', `/servers/${server.id}/events/stream`);
    expect(response.status).toBe(200);
    const reader = response.body?.getReader();
    if (!reader) throw new Error('the stream has no body');
    const decoder = new TextDecoder();
    let text = '';
    const deadline = Date.now() + 120_000;
    try {
      // The ready step's timeline event and the state it leads to, pushed through API B as API A's order reaches them.
      while (!(/event: timeline\ndata: \{[^\n]*"step":"ready"/.test(text) && text.includes('"state":"ready"')) && Date.now() < deadline) {
        const chunk: Awaited<ReturnType<typeof reader.read>> | null = await Promise.race([reader.read(), new Promise<null>((resolve) => setTimeout(() => resolve(null), deadline - Date.now()))]);
        if (!chunk || chunk.done) break;
        text += decoder.decode(chunk.value as Uint8Array, { stream: true });
      }
    } finally {
      await reader.cancel();
    }
    expect(text).toContain('"state":"ready"');
    expect(text).toMatch(/event: timeline\ndata: \{[^\n]*"step":"ready"/);
  }, 150_000);

  it('a worker killed in the middle of orders: the other finishes them, each exactly once', async () => {
    const [a, b] = through;
    // Only the doomed worker runs while the orders start, stopping dead once a container step's
    // side effects are done; the other worker is back before it is killed.
    await Promise.all(workers.splice(0).map((worker) => worker.stop()));
    const doomed = PlatformProcess.worker({ ...workerEnv(), PARLEY_FAILPOINTS: 'container.after-effects' });
    workers.push(doomed);
    const servers = await Promise.all(
      Array.from({ length: 2 }, (_, i) => json<ServerDto>((i === 0 ? a : b)('POST', '/servers', { name: `kw${i}${Date.now().toString(36)}` }), 202)),
    );
    for (const server of servers) ordered.set(server.id, server.name);
    await doomed.waitForLine(/FAILPOINT container\.after-effects/, 90_000);
    workers.push(PlatformProcess.worker(workerEnv()));
    await doomed.kill();
    await Promise.all(servers.map((server) => untilReady(a, server.id)));
    await expectProvisionedOnce(servers.map((s) => s.id));
  }, 240_000);

  it('failed log-ins count against one limit across both APIs', async () => {
    const [a, b] = apis as [Api, Api];
    const email = `scale-${Date.now().toString(36)}@example.test`;
    const signUp = await fetch(`${a.url}/api/v1/accounts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'the right password 1', plan: 'personal' }) });
    expect(signUp.status).toBe(201);
    const max = loadApiConfig().rateLimits.loginFailuresPerEmailAndAddress.max;
    const logIn = (api: Api) => fetch(`${api.url}/api/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'a wrong password' }) });
    const statuses: number[] = [];
    for (let i = 0; i < max; i++) statuses.push((await logIn(i % 2 === 0 ? a : b)).status);
    expect(statuses).toEqual(Array.from({ length: max }, () => 401));
    // The next one, on either API, is refused by the count both share in Redis.
    expect((await logIn(b)).status).toBe(429);
    expect((await logIn(a)).status).toBe(429);
  });

  it('the schedulers both workers declared exist once each', async () => {
    const schedulers = await queue.getJobSchedulers();
    const names = schedulers.map((s) => s.name);
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
  });

  it('servers deleted through the second API leave nothing behind', async () => {
    const [, b] = through;
    const serverIds = [...ordered.keys()];
    for (const [serverId, name] of ordered) {
      const response = await b('DELETE', `/servers/${serverId}`, { confirm: name });
      expect(response.status, await response.text()).toBe(202);
    }
    await Promise.all(serverIds.map((serverId) => harness.waitForState(serverId, 'deleted', 90_000)));
    for (const serverId of serverIds) {
      expect(await docker.listContainers({ all: true, filters: { label: [`parley.server=${serverId}`] } })).toHaveLength(0);
    }
    expect(await harness.prisma.portAllocation.count({ where: { serverId: { in: serverIds } } })).toBe(0);
    ordered.clear();
  }, 120_000);
});
