// bench:provision: what a customer sees when ordering. Everything goes through the HTTP API as
// the dashboard does (sign-up, token, POST /servers, GET /servers/{id} until it says ready, the
// one-time admin password revealed, a client logging in with it); the worker runs as its own
// process with the production defaults of worker/src/config.ts (log level, health reports,
// reconciliation, census, backup schedule), publishing on the sandbox's edge address.
// `npm run bench:provision` prints a table and, as its last line, one JSON object.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { loadWorkerConfig } from '../../worker/src/config.js';
import { PROVISION_STEPS } from '../../worker/src/contracts/provisioning.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { pebbleIssuers } from '../support/pebble.js';
import { signUpWithToken, startPlatformApi, type ApiRequest } from '../support/platform-api.js';
import { testEnv } from '../support/test-env.js';
import { tryAllocation } from '../support/turn-client.js';
import { PlatformProcess } from '../support/platform-process.js';
import { connectAs, nextMessage, sendMessage, sendPresence, type XmppSession } from '../support/xmpp.js';
import { xml } from '@xmpp/client';

// --compliance off: without the checks the worker runs after each ready server (production runs them).
const { values: args } = parseArgs({ options: { compliance: { type: 'string', default: 'on' } } });
const COMPLIANCE = args.compliance !== 'off';
const SEQUENTIAL = 20;
const CONCURRENT = 20;
const MiB = 1024 * 1024;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
};
const round = (n: number) => Math.round(n);
const PORT_RANGE_START = 40_000;
const POLL_MS = 25;
const SIGNUPS_PER_IP = 100;

interface ServerView {
  id: string;
  domain: string;
  state: string;
  stateReason: string | null;
  connection: { ports: { starttls: number } } | null;
}

async function json<T>(answer: Response, what: string): Promise<T> {
  if (!answer.ok) throw new Error(`${what}: ${answer.status} ${await answer.text()}`);
  return (await answer.json()) as T;
}

/** Orders a server with federation on through the API; resolves once the API accepted the order. */
async function order(request: ApiRequest, name: string): Promise<ServerView> {
  return json<ServerView>(await request('POST', '/servers', { name, federation: true }), `POST /servers ${name}`);
}

/** Polls the API until it says the server is ready; resolves with when it first said so. */
async function readyPerApi(request: ApiRequest, serverId: string): Promise<{ at: number; server: ServerView }> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const server = await json<ServerView>(await request('GET', `/servers/${serverId}`), `GET /servers/${serverId}`);
    if (server.state === 'ready') return { at: performance.now(), server };
    if (server.state === 'failed') throw new Error(`server ${serverId} failed: ${server.stateReason ?? ''}`);
    if (Date.now() > deadline) throw new Error(`the API did not say server ${serverId} is ready within 180 s (${server.state})`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** The admin logs in with the password the API reveals once, as the dashboard shows it. */
async function adminLogin(request: ApiRequest, server: ServerView, roots: string[]): Promise<XmppSession> {
  const credentials = await json<{ jid: string; password: string }>(await request('POST', `/servers/${server.id}/credentials/reveal`, {}), 'reveal the admin password');
  const port = server.connection?.ports.starttls;
  if (!port) throw new Error(`server ${server.id} is ready without connection details`);
  return connectAs({ host: EDGE(), port, domain: server.domain, username: credentials.jid.split('@')[0] ?? 'admin', password: credentials.password, trustedCaPems: roots, timeoutMs: 15_000 });
}

/** The node's address as `./parley up` publishes servers: the edge address, reachable from containers, so servers federate. */
const EDGE = () => testEnv().SANDBOX_EDGE_ADDRESS;
const TURN_PORT = 3478;

/** TURN credentials as an app gets them: XEP-0215 from its own server. */
async function turnCredentials(session: XmppSession, domain: string): Promise<{ username: string; password: string }> {
  const answer = await session.xmpp.iqCaller.request(xml('iq', { type: 'get', to: domain }, xml('services', { xmlns: 'urn:xmpp:extdisco:2' })), 10_000);
  const turn = answer.getChild('services', 'urn:xmpp:extdisco:2')?.getChildren('service').find((s) => s.attrs.type === 'turn' && s.attrs.transport === 'udp');
  if (!turn?.attrs.username || !turn.attrs.password) throw new Error(`${domain} advertises no TURN credentials`);
  return { username: turn.attrs.username, password: turn.attrs.password };
}

/**
 * What "ready" means to a user who calls and federates: the admin logs in, gets TURN credentials
 * over XEP-0215, allocates a relay with them, and a message to a user of another server arrives.
 */
async function callsAndFederation(session: XmppSession, domain: string, peer: XmppSession): Promise<{ allocationMs: number }> {
  const credentials = await turnCredentials(session, domain);
  const started = performance.now();
  const answer = await tryAllocation({ host: EDGE(), port: TURN_PORT }, credentials);
  const allocationMs = performance.now() - started;
  if (!answer.ok) throw new Error(`TURN allocation on ${domain} refused: ${answer.code} ${answer.reason}`);
  const arrived = nextMessage(peer, 30_000);
  await sendMessage(session, peer.jid.split('/')[0] ?? peer.jid, `hello from ${domain}`);
  await arrived;
  return { allocationMs };
}

/** Step durations (started → succeeded) from the server's own timeline. */
async function stepDurations(harness: ProvisioningHarness, serverId: string): Promise<Record<string, number>> {
  const events = await harness.prisma.provisioningEvent.findMany({ where: { serverId }, orderBy: { id: 'asc' } });
  const out: Record<string, number> = {};
  for (const step of PROVISION_STEPS) {
    const started = events.find((e) => e.step === step && e.status === 'started');
    const done = events.find((e) => e.step === step && e.status === 'succeeded');
    if (started && done) out[step] = done.createdAt.getTime() - started.createdAt.getTime();
  }
  return out;
}

/**
 * A process's proportional set size, in bytes: its private pages plus its share of the pages it
 * shares (the 41 shims and 164 docker-proxies run the same binaries), so the sum over processes
 * counts each page once, where resident sizes would count shared pages in every process.
 */
function pssOf(pid: string): number {
  const pss = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  if (!pss) throw new Error(`no Pss for process ${pid}`);
  return Number(pss[1]) * 1024;
}

/** Every process's command line, read once per measurement. */
function processes(): { pid: string; cmdline: string }[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((pid) => {
      try {
        return [{ pid, cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ') }];
      } catch {
        return []; // ended while listed
      }
    });
}

interface ServerMemory {
  container: number;
  shim: number;
  proxies: number;
}

/**
 * What the host spends on one idle server: the container's cgroup memory less page cache, plus
 * the proportional set sizes of its containerd shim and of the docker-proxy of each published
 * port (Docker's userland proxy; none when dockerd runs with --userland-proxy=false). A shim or
 * proxy that cannot be found is an error: counting it as zero would flatter the figure.
 */
async function serverMemory(docker: Docker, containerId: string, all: { pid: string; cmdline: string }[], userlandProxy: boolean): Promise<ServerMemory> {
  const container = docker.getContainer(containerId);
  const stats = (await container.stats({ stream: false })) as {
    memory_stats: { usage?: number; stats?: { cache?: number; total_inactive_file?: number; inactive_file?: number } };
  };
  const { usage = 0, stats: detail = {} } = stats.memory_stats;
  const cgroup = usage - (detail.total_inactive_file ?? detail.inactive_file ?? detail.cache ?? 0);
  const shim = all.find((p) => p.cmdline.includes('containerd-shim') && p.cmdline.includes(containerId));
  if (!shim) throw new Error(`no containerd shim found for container ${containerId}`);
  const ports = Object.values((await container.inspect()).NetworkSettings.Ports ?? {}).flatMap((bindings) => (bindings ?? []).map((b) => b.HostPort));
  let proxies = 0;
  if (userlandProxy) {
    for (const port of ports) {
      const proxy = all.find((p) => p.cmdline.includes('docker-proxy') && p.cmdline.includes(`-host-port ${port} `));
      if (!proxy) throw new Error(`no docker-proxy found for port ${port} of container ${containerId}`);
      proxies += pssOf(proxy.pid);
    }
  }
  return { container: cgroup, shim: pssOf(shim.pid), proxies };
}

/** Whether dockerd runs its userland proxy (the default), from its command line and daemon.json. */
function dockerUserlandProxy(all: { pid: string; cmdline: string }[]): boolean {
  const dockerd = all.find((p) => /(^|\/)dockerd( |$)/.test(p.cmdline));
  if (dockerd?.cmdline.includes('--userland-proxy=false')) return false;
  try {
    return (JSON.parse(readFileSync('/etc/docker/daemon.json', 'utf8')) as { 'userland-proxy'?: boolean })['userland-proxy'] !== false;
  } catch {
    return true;
  }
}

const memAvailable = () => Number(/MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? NaN) * 1024;

async function main(): Promise<void> {
  const production = loadWorkerConfig();
  // The harness gives the run its own database, Redis, node name and port range; its in-process
  // worker is never started: the worker below is the production entry point, as its own process.
  const harness = await ProvisioningHarness.create(PORT_RANGE_START, { turnTls: true });
  const repositoryDir = join(await mkdtemp(join(tmpdir(), 'parley-bench-provision-')), 'repository');
  // 42 customers sign up from this one address: the per-address sign-up limit (20 an hour) is raised.
  const api = await startPlatformApi(harness, { configure: (config) => ({ ...config, rateLimits: { ...config.rateLimits, signupsPerIp: { max: SIGNUPS_PER_IP, windowSeconds: 3600 } } }) });
  const test = harness.workerEnv();
  const workerEnv = {
    DATABASE_URL: test.DATABASE_URL ?? '',
    REDIS_URL: test.REDIS_URL ?? '',
    NODE_NAME: test.NODE_NAME ?? '',
    NODE_PORT_RANGE: test.NODE_PORT_RANGE ?? '',
    TENANT_REACHABLE_PORTS: test.TENANT_REACHABLE_PORTS ?? '',
    // Published where containers reach each other, as ./parley up does, so servers federate.
    NODE_PUBLIC_ADDRESS: EDGE(),
    TURN_TLS_DIR: test.TURN_TLS_DIR ?? '',
    COMPLIANCE_AFTER_READY: String(COMPLIANCE),
    BACKUP_REPOSITORY: repositoryDir,
    // The sandbox's worker serves the default metrics address.
    WORKER_METRICS_ADDRESS: '',
    // Only the teardown deletes: without a grace period it takes no final backups.
    DELETED_SERVER_GRACE_DAYS: '0',
  };
  const worker = PlatformProcess.worker(workerEnv);
  const docker = new Docker({ socketPath: testEnv().DOCKER_SOCKET });
  /** Each server with the customer who ordered it, who deletes it at the end. */
  const servers: { id: string; request: ApiRequest }[] = [];
  let peer: XmppSession | undefined;
  try {
    await worker.waitForLine(/worker started/, 60_000);
    // Each order is a new customer's, as on the dashboard: ACME_ORDERS_PER_ACCOUNT (production: 20
    // per 3 hours) would hold back the 42 orders of a single account.
    const customer = () => signUpWithToken(api.url);
    const roots = [(await pebbleIssuers()).root.toString()];
    const label = `b${Date.now().toString(36)}`;

    // The other server every new one federates with, and its user who receives the messages.
    const request = await customer();
    const other = await order(request, `${label}peer`);
    servers.push({ id: other.id, request });
    const otherReady = (await readyPerApi(request, other.id)).server;
    const made = await request('POST', `/servers/${other.id}/users`, { localpart: 'peer' });
    const { user } = await json<{ user: { id: string } }>(made, 'POST users');
    // The user is made by the worker: it logs in once the API shows it active.
    const peerPassword = await (async () => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const current = await json<{ state: string }>(await request('GET', `/servers/${other.id}/users/${user.id}`), 'GET the peer user');
        if (current.state === 'active') break;
        if (Date.now() > deadline) throw new Error(`the peer user is still ${current.state} after 60 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
      return (await json<{ password: string }>(await request('POST', `/servers/${other.id}/users/${user.id}/password/reveal`, {}), "reveal the peer's password")).password;
    })();
    peer = await connectAs({ host: EDGE(), port: otherReady.connection?.ports.starttls ?? 0, domain: otherReady.domain, username: 'peer', password: peerPassword, trustedCaPems: roots, timeoutMs: 15_000 });
    await sendPresence(peer);

    const toReady: number[] = [];
    const toLogin: number[] = [];
    const toCallsAndFederation: number[] = [];
    const turnAllocation: number[] = [];
    const steps: Record<string, number[]> = {};
    for (let i = 0; i < SEQUENTIAL; i++) {
      const ordering = await customer();
      const started = performance.now();
      const ordered = await order(ordering, `${label}s${i}`);
      servers.push({ id: ordered.id, request: ordering });
      const ready = await readyPerApi(ordering, ordered.id);
      toReady.push(ready.at - started);
      const session = await adminLogin(ordering, ready.server, roots);
      try {
        toLogin.push(performance.now() - started);
        // One relay allocation per new server, timed alone (coturn frees a released allocation's
        // quota only a moment later, so allocations in a row on one server would meet its cap).
        const { allocationMs } = await callsAndFederation(session, ready.server.domain, peer);
        toCallsAndFederation.push(performance.now() - started);
        turnAllocation.push(allocationMs);
      } finally {
        await session.close();
      }
      for (const [step, ms] of Object.entries(await stepDurations(harness, ordered.id))) (steps[step] ??= []).push(ms);
    }

    const customers = await Promise.all(Array.from({ length: CONCURRENT }, () => customer()));
    const availableBefore = memAvailable();
    const wallStart = performance.now();
    const batch = await Promise.all(customers.map(async (ordering, i) => ({ ordering, server: await order(ordering, `${label}c${i}`) })));
    servers.push(...batch.map((b) => ({ id: b.server.id, request: b.ordering })));
    await Promise.all(batch.map((b) => readyPerApi(b.ordering, b.server.id)));
    const concurrentWall = performance.now() - wallStart;

    // Idle: the compliance checks and first health reports are over.
    await new Promise((r) => setTimeout(r, 15_000));
    const availableAfter = memAvailable();
    const all = processes();
    const userlandProxy = dockerUserlandProxy(all);
    const owned = await docker.listContainers({ filters: { label: ['parley.managed=true'] } });
    const ours = owned.filter((c) => servers.some((server) => server.id === c.Labels['parley.server']));
    if (ours.length !== servers.length) throw new Error(`${servers.length} servers ordered, ${ours.length} containers running`);
    const memory = await Promise.all(ours.map((c) => serverMemory(docker, c.Id, all, userlandProxy)));
    const mean = (pick: (m: ServerMemory) => number) => memory.reduce((sum, m) => sum + pick(m), 0) / memory.length / MiB;
    const perServerMib = mean((m) => m.container + m.shim + m.proxies);

    const settings = {
      api: 'over HTTP (sign-up, token, POST /servers, GET /servers/{id} polled every 25 ms, credentials revealed)',
      worker: 'own process, production defaults',
      LOG_LEVEL: production.logLevel,
      WORKER_CONCURRENCY: production.jobs.concurrency,
      RECONCILE_INTERVAL_MS: production.jobs.reconcileIntervalMs,
      HEALTH_REPORT_INTERVAL_MS: production.healthReportIntervalMs,
      ACCOUNT_CENSUS_INTERVAL_MS: production.jobs.accountCensusIntervalMs,
      BACKUP_SCHEDULE_INTERVAL_MS: production.backups.scheduleIntervalMs,
      COMPLIANCE_AFTER_READY: COMPLIANCE,
      NODE_PUBLIC_ADDRESS: EDGE(),
      TURN_PORT: TURN_PORT,
      TURN_TLS: Boolean(test.TURN_TLS_DIR),
      docker_userland_proxy: userlandProxy,
      SIGNUP_MAX_PER_IP_PER_HOUR: SIGNUPS_PER_IP,
    };
    const result = {
      seq_orders: SEQUENTIAL,
      seq_p50_ms: round(percentile(toReady, 50)),
      seq_p95_ms: round(percentile(toReady, 95)),
      seq_login_p50_ms: round(percentile(toLogin, 50)),
      seq_login_p95_ms: round(percentile(toLogin, 95)),
      seq_calls_federation_p50_ms: round(percentile(toCallsAndFederation, 50)),
      seq_calls_federation_p95_ms: round(percentile(toCallsAndFederation, 95)),
      turn_allocation_p50_ms: Math.round(percentile(turnAllocation, 50) * 10) / 10,
      turn_allocations: turnAllocation.length,
      concurrent_orders: CONCURRENT,
      concurrent_wall_ms: round(concurrentWall),
      idle_servers_measured: memory.length,
      idle_mib_per_server: Math.round(perServerMib * 10) / 10,
      idle_mib_container: Math.round(mean((m) => m.container) * 10) / 10,
      idle_mib_shim: Math.round(mean((m) => m.shim) * 10) / 10,
      idle_mib_docker_proxies: Math.round(mean((m) => m.proxies) * 10) / 10,
      mem_available_drop_mib_per_server: Math.round(((availableBefore - availableAfter) / CONCURRENT / MiB) * 10) / 10,
      step_p50_ms: Object.fromEntries(PROVISION_STEPS.map((s) => [s, round(percentile(steps[s] ?? [], 50))])),
      settings,
    };

    console.log(`Provisioning benchmark (sandbox: Docker, PowerDNS, Pebble, coturn on this machine)`);
    console.log(`  settings: ${Object.entries(settings).map(([key, value]) => `${key}=${value}`).join(', ')}`);
    console.log(`  ${SEQUENTIAL} sequential orders   order → the API says ready   p50 ${result.seq_p50_ms} ms   p95 ${result.seq_p95_ms} ms`);
    console.log(`                           order → the admin logs in   p50 ${result.seq_login_p50_ms} ms   p95 ${result.seq_login_p95_ms} ms`);
    console.log(`           order → calls and federation work   p50 ${result.seq_calls_federation_p50_ms} ms   p95 ${result.seq_calls_federation_p95_ms} ms`);
    console.log(`  TURN relay allocation (XEP-0215 credentials, one per new server, ${result.turn_allocations})   p50 ${result.turn_allocation_p50_ms} ms`);
    console.log(`  ${CONCURRENT} concurrent orders   the API says all ready in ${result.concurrent_wall_ms} ms`);
    console.log(
      `  idle memory per server   ${result.idle_mib_per_server} MiB: container ${result.idle_mib_container}, shim ${result.idle_mib_shim}, docker-proxy processes ${result.idle_mib_docker_proxies} (PSS; ${memory.length} servers)`,
    );
    console.log(`  cross-check: the host's MemAvailable fell by ${result.mem_available_drop_mib_per_server} MiB per server over the ${CONCURRENT} concurrent orders (includes page cache and the worker's own growth)`);
    console.log(`  where the time goes (p50 per step, sequential):`);
    for (const [step, ms] of Object.entries(result.step_p50_ms)) console.log(`    ${step.padEnd(14)} ${String(ms).padStart(6)} ms`);
    console.log(JSON.stringify(result));
  } finally {
    await peer?.close();
    // Deleted through the API as a customer would; the worker process removes them.
    for (const { id, request } of servers) {
      const server = await harness.prisma.server.findUnique({ where: { id }, select: { name: true } });
      if (server) await request('DELETE', `/servers/${id}`, { confirm: server.name });
    }
    for (const { id } of servers) await harness.waitForState(id, 'deleted', 120_000);
    await worker.stop();
    await api.close();
    await harness.close();
  }
}

main().catch((error: unknown) => {
  console.error(`bench:provision failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
