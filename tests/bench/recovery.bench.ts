import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { RECONCILE_JOB } from '../../worker/src/contracts/provisioning.js';
import { containerName, DockerContainerRuntime } from '../../worker/src/adapters/docker.container-runtime.js';
import { prosodyCreateOrUpdateUser } from '../../worker/src/provisioning/prosody-accounts.js';
import { enqueueProvisioning } from '../../worker/src/contracts/provisioning-flow.js';
import { loadWorkerConfig } from '../../worker/src/config.js';
import { FLAP_WINDOW_MS } from '../../worker/src/healing/incident-book.js';
import { checkXmpp } from '../../worker/src/healing/xmpp-check.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { pebbleIssuers } from '../support/pebble.js';
import { signUpWithToken, startPlatformApi } from '../support/platform-api.js';
import { testEnv } from '../support/test-env.js';
import { until } from '../support/until.js';
import { PlatformProcess } from '../support/platform-process.js';
import { archivedBodies, connectAs, deliverMessage } from '../support/xmpp.js';
import { Queue, FlowProducer } from 'bullmq';
import { Redis } from 'ioredis';
import { percentile } from './shared/stats.js';

// What a customer sees when their server breaks: how soon the API says so, and how soon a client
// logs in again. The worker runs as its own process with production settings (log level, pass
// interval, timeouts: the defaults of worker/src/config.ts); the API is the real one, over HTTP.
const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '10' }, servers: { type: 'string', default: '200' } } });
const RUNS = Number(args.runs);
const PASS_SERVERS = Number(args.servers);
// Below Linux's ephemeral range (32768+): the API this script starts listens on an ephemeral port,
// which must never be one the servers are given.
const PORT_RANGE_START = 22_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Where a scheduled pass is due at least this soon, a timed pass waits for it to be done. */
const SCHEDULED_PASS_MARGIN_MS = 10_000;

/**
 * Waits until a pass started now would run on a settled node, as the scheduled ones do in
 * production (one per interval, each taking a fraction of it): no job running or waiting (the
 * fixture's last servers queue checks as they start), and no scheduled pass due within the margin.
 */
async function passAlone(queue: Queue): Promise<void> {
  await until('a settled node: no job running or waiting, no pass due', async () => {
    const busy = (await queue.getActiveCount()) + (await queue.getWaitingCount());
    const next = (await queue.getJobSchedulers()).find((s) => s.key === RECONCILE_JOB)?.next ?? Infinity;
    return busy === 0 && next - Date.now() > SCHEDULED_PASS_MARGIN_MS ? true : undefined;
  }, 120_000, 25);
}

async function main(): Promise<void> {
  const harness = await ProvisioningHarness.create(PORT_RANGE_START);
  const production = loadWorkerConfig();
  const docker = new Docker({ socketPath: testEnv().DOCKER_SOCKET });
  const api = await startPlatformApi(harness);
  const worker = PlatformProcess.worker({
    DATABASE_URL: harness.db.url,
    REDIS_URL: harness.redis.url,
    NODE_NAME: harness.config.node.name,
    NODE_PORT_RANGE: `${PORT_RANGE_START}-${PORT_RANGE_START + 999}`,
  });
  const connection = new Redis(harness.redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue('provisioning', { connection });
  const flows = new FlowProducer({ connection });
  const servers: string[] = [];
  try {
    const roots = [(await pebbleIssuers()).root.toString()];
    const request = await signUpWithToken(api.url);
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await request(method, path, body);
      if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
      return response.json() as Promise<Record<string, unknown>>;
    };
    type ServerView = { state: string; domain: string; health: { status: string }; connection: { ports: { starttls: number } } | null };
    const view = async (id: string) => (await call('GET', `/servers/${id}`)) as unknown as ServerView;

    const order = (await call('POST', '/servers', { name: `rec${randomBytes(3).toString('hex')}`, federation: true })) as { id: string };
    servers.push(order.id);
    const server = await until('ready', async () => {
      const v = await view(order.id);
      return v.state === 'ready' && v.health.status !== 'unknown' ? v : undefined;
    }, 120_000, 25);
    const port = server.connection?.ports.starttls ?? 0;
    const domain = server.domain;
    const bob = { username: 'bob', password: `pw-${randomUUID()}`, domain };
    await prosodyCreateOrUpdateUser(new DockerContainerRuntime(docker), order.id, bob);
    const login = (username: string, password: string) => connectAs({ host: '127.0.0.1', port, domain, username, password, trustedCaPems: roots, timeoutMs: 2_000 });
    const admin = await harness.adminPassword(order.id);
    await deliverMessage(login, { username: 'admin', password: admin.password }, bob, 'archived before the breakage');
    // A client retrying as fast as it can: a cheap stream opening until the server answers, then
    // the full login (SCRAM costs ~0.6 s of CPU, so it is not the polling probe).
    const loginAgain = () =>
      until('a client logs in again', async () => {
        const answer = await checkXmpp({ host: '127.0.0.1', port, domain, timeoutMs: 1_000 });
        if (!answer.answers) return undefined;
        try {
          return await login('bob', bob.password);
        } catch {
          return undefined;
        }
      }, 60_000, 25);
    const healthy = () => until('healthy again', async () => ((await view(order.id)).health.status === 'ok' ? true : undefined), 60_000, 25);
    // Each breakage starts from a settled server: one that breaks again right after its repair
    // is a crash loop to Parley (repairs back off), which is not what is measured here.
    const settled = async () => {
      await healthy();
      await sleep(FLAP_WINDOW_MS + 1_000);
    };

    const detectKill: number[] = [];
    const reloginKill: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await settled();
      const t0 = performance.now();
      await docker.getContainer(containerName(order.id)).kill();
      const seen = until('API shows the outage', async () => ((await view(order.id)).health.status !== 'ok' ? performance.now() : undefined), 30_000, 25);
      detectKill.push((await seen) - t0);
      const session = await loginAgain();
      reloginKill.push(performance.now() - t0);
      await session.close();
    }

    const detectRm: number[] = [];
    const reloginRm: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await settled();
      const t0 = performance.now();
      await docker.getContainer(containerName(order.id)).remove({ force: true });
      detectRm.push((await until('API shows the outage', async () => ((await view(order.id)).health.status !== 'ok' ? performance.now() : undefined), 30_000, 25)) - t0);
      const session = await loginAgain();
      reloginRm.push(performance.now() - t0);
      const archive = await archivedBodies(session);
      await session.close();
      if (!archive.includes('archived before the breakage')) throw new Error('the archive lost its message after a recreate');
    }
    await healthy();

    // The pass over 200 real servers: provisioned as a fixture straight into the queue (ordering
    // 200 through one account would need 200 accounts' quotas), then looked at for real.
    const fixtureStart = performance.now();
    const pending: string[] = [];
    while (servers.length < PASS_SERVERS) {
      const batch = await Promise.all(Array.from({ length: Math.min(20, PASS_SERVERS - servers.length) }, () => harness.placeOrder({ plan: 'personal' })));
      for (const { serverId } of batch) {
        servers.push(serverId);
        pending.push(serverId);
        await enqueueProvisioning(flows, serverId);
      }
      await Promise.all(batch.map((b) => harness.waitForState(b.serverId, 'ready', 300_000)));
    }
    const fixtureMs = performance.now() - fixtureStart;
    const passes: number[] = [];
    const reports: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      await passAlone(queue);
      const job = await queue.add(RECONCILE_JOB, {}, { jobId: `bench-pass-${randomUUID()}` });
      const done = await until('the pass finishes', async () => {
        const j = await queue.getJob(job.id ?? '');
        return j?.finishedOn && j.processedOn ? j : undefined;
      }, 120_000, 25);
      passes.push((done.finishedOn ?? 0) - (done.processedOn ?? 0));
      reports.push(String(done.returnvalue));
    }

    const result = {
      runs: RUNS,
      detect_p50_ms: Math.round(percentile([...detectKill, ...detectRm], 50)),
      detect_p95_ms: Math.round(percentile(detectRm, 95)),
      detect_kill_p95_ms: Math.round(percentile(detectKill, 95)),
      relogin_kill_p50_ms: Math.round(percentile(reloginKill, 50)),
      relogin_kill_p95_ms: Math.round(percentile(reloginKill, 95)),
      relogin_rm_p50_ms: Math.round(percentile(reloginRm, 50)),
      relogin_rm_p95_ms: Math.round(percentile(reloginRm, 95)),
      reconcile_servers: servers.length,
      reconcile_pass_ms_200: Math.round(percentile(passes, 50)),
      reconcile_pass_p95_ms_200: Math.round(percentile(passes, 95)),
    };
    const settings = {
      worker: 'own process, production defaults',
      LOG_LEVEL: production.logLevel,
      RECONCILE_INTERVAL_MS: production.jobs.reconcileIntervalMs,
      SERVER_CHECK_TIMEOUT_MS: production.jobs.healthCheckTimeoutMs,
      SERVER_CHECK_CONCURRENCY: production.jobs.healthCheckConcurrency,
      WORKER_CONCURRENCY: production.jobs.concurrency,
      api_poll_ms: 25,
      scheduled_pass_margin_ms: SCHEDULED_PASS_MARGIN_MS,
      runs: RUNS,
      servers: servers.length,
    };
    console.log('Recovery benchmark (sandbox: Docker, PowerDNS, Pebble on this machine)');
    console.log(`  settings: ${Object.entries(settings).map(([key, value]) => `${key}=${value}`).join(', ')}; each timed pass starts with no job running or waiting and no scheduled pass due within the margin`);
    console.log(`  ${'what'.padEnd(44)} ${'p50'.padStart(8)} ${'p95'.padStart(8)}   target (p95)`);
    const row = (what: string, values: number[], target: string) =>
      console.log(`  ${what.padEnd(44)} ${String(Math.round(percentile(values, 50))).padStart(6)} ms ${String(Math.round(percentile(values, 95))).padStart(6)} ms   ${target}`);
    row(`docker kill → API shows it (${RUNS} runs)`, detectKill, '≤ 5,000 ms');
    row(`docker rm -f → API shows it (${RUNS} runs)`, detectRm, '≤ 5,000 ms');
    row(`docker kill → a client logs in again`, reloginKill, '≤ 5,000 ms');
    row(`docker rm -f → logs in again, archive intact`, reloginRm, '≤ 10,000 ms');
    row(`full pass, ${servers.length} servers (${RUNS} passes)`, passes, '≤ 2,000 ms');
    console.log(`  passes, in order: ${passes.map((ms) => `${ms} ms`).join(', ')}`);
    console.log(`  (fixture: ${servers.length - 1} more servers provisioned in ${Math.round(fixtureMs / 1000)} s; last pass: ${reports.at(-1) ?? ''})`);
    console.log(JSON.stringify({ ...result, settings }));
  } finally {
    await worker.stop().catch(() => undefined);
    await harness.startWorker();
    for (const serverId of servers) await harness.deprovision(serverId);
    for (const serverId of servers) await harness.waitForState(serverId, 'deleted', 120_000).catch(() => undefined);
    await Promise.all([queue.close(), flows.close()]);
    connection.disconnect();
    await api.close();
    await harness.close();
  }
}

main().catch((error: unknown) => {
  console.error(`bench:recovery failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
