// bench:density: how many idle servers one node holds, and what it costs. Orders go through the
// HTTP API as the dashboard sends them (sign-up, token, POST /servers, GET /servers/{id} until it
// says ready); the worker runs as its own process with the production defaults of
// worker/src/config.ts, publishing on the sandbox's edge address. First `--sequential` orders one
// at a time on the empty node, then the node is filled to `--servers` with `--concurrency` orders
// at a time, then `--sequential` more one at a time on the full node. At the end: what each idle
// server costs the host (memory, tasks, ports), what would run out first, and the operators'
// server list with 10,000 servers in the database. For the timed orders it says where their time
// went (each step, Docker's own start with and without published ports, the periodic jobs that
// ran meanwhile), so a slower full node points at its cause.
// `npm run bench:density` prints a table and, as its last line, one JSON object.
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import Docker from 'dockerode';
import { Redis } from 'ioredis';
import { PLANS } from '../../prisma/seed.js';
import { DockerContainerRuntime } from '../../worker/src/adapters/docker.container-runtime.js';
import { loadWorkerConfig } from '../../worker/src/config.js';
import { COMPLIANCE_CHECK_JOB, PROVISIONING_QUEUE, RECONCILE_JOB } from '../../worker/src/contracts/provisioning.js';
import { XMPP_USERS_QUEUE } from '../../worker/src/contracts/xmpp-user-jobs.js';
import { signUpOperator, signUpWithToken, startPlatformApi, type ApiRequest } from '../support/platform-api.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { tearDownAll } from '../support/tear-down.js';
import { testEnv } from '../support/test-env.js';
import { until } from '../support/until.js';
import type { PlatformProcess } from '../support/platform-process.js';
import { cpuBusyOver, hostLimits, sampleHost, type HostSample } from './density/host-resources.js';
import { backgroundShare, jobSpans, overlapped, type Window } from './density/background-work.js';
import { removeLeftoverProbes, timeDockerStart } from './density/docker-start.js';
import { readLoopLag, resetLoopLag, type LoopLag } from './density/worker-loop-lag.js';
import { freePort } from '../support/redis-server.js';
import { DASHBOARD_LIST_PATH, insertFixture, removeFixture, timeList } from './density/operator-list.js';
import { deleteThroughApi, order, readyPerApi, POLL_MS } from './shared/api-orders.js';
import { dockerUserlandProxy, memAvailable, MiB, processes, pssOf, serverFootprint, type HostProcess, type ServerFootprint } from './shared/host-footprint.js';
import { productionSettings, startProductionWorker } from './shared/production-worker.js';
import { percentile, pooled } from './shared/stats.js';
import { containerParts, p50s, stepDurations, stepP50s, timelineOf } from './shared/step-durations.js';

const { values: args } = parseArgs({
  options: {
    servers: { type: 'string', default: '300' },
    sequential: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '10' },
    'list-rows': { type: 'string', default: '10000' },
    'list-requests': { type: 'string', default: '200' },
  },
});
const wholeNumber = (name: string, value: string | undefined, min: number) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number of at least ${min}, got ${value}`);
  return n;
};
const TARGET = wholeNumber('servers', args.servers, 1);
const SEQUENTIAL = wholeNumber('sequential', args.sequential, 1);
const CONCURRENCY = wholeNumber('concurrency', args.concurrency, 1);
const LIST_ROWS = wholeNumber('list-rows', args['list-rows'], 1);
const LIST_REQUESTS = wholeNumber('list-requests', args['list-requests'], 1);
const LIST_WARMUP = 20;

// The bench's node: its own name (so a killed run's containers are known by their label) and the
// host ports 20000-21999, which the sandbox reserves; every server publishes 4 of them.
const NODE_NAME = 'bench-density';
const PORT_RANGE = { first: 20_000, last: 21_999 };
const PORTS_PER_SERVER = 4;
const PRODUCTION_PORT_RANGE_SIZE = 10_000; // NODE_PORT_RANGE's default, 20000-29999
const READY_TIMEOUT_MS = 300_000;
const SETTLE_TIMEOUT_MS = 600_000;
const TEARDOWN_TIMEOUT_MS = 1_200_000;
const CPU_WINDOW_MS = 30_000;
const DOCKER_START_SAMPLES = 5;
const SAMPLE_EVERY = 50;
const FOOTPRINT_WIDTH = 16;
// Pebble has no rate limit; Let's Encrypt allows 300 new orders per account per 3 hours, which a
// node filled this fast would meet (production's ACME_ORDER_BUDGET is 250).
const ACME_ORDER_BUDGET = 10_000;

const round = (n: number, places = 0) => (Number.isFinite(n) ? Math.round(n * 10 ** places) / 10 ** places : null);
const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The PSS of Docker's own daemons (dockerd, containerd), which grow with every container. */
const dockerDaemonsPss = (all: HostProcess[]) =>
  all.filter((p) => /^(\S*\/)?(dockerd|containerd) /.test(p.cmdline)).reduce((sum, p) => sum + pssOf(p.pid), 0);

/**
 * The node's processes: this one (the API, idle while CPU is measured), its children (the worker
 * and the bench's Redis), and each server's shim (Prosody and its execs below it) and docker-proxies.
 */
async function nodeProcesses(docker: Docker): Promise<number[]> {
  const containers = await docker.listContainers({ filters: { label: [`parley.node=${NODE_NAME}`] } });
  const ports = new Set(containers.flatMap((c) => c.Ports.map((p) => p.PublicPort)).filter(Boolean));
  const mine = processes().filter(
    (p) =>
      (p.cmdline.includes('containerd-shim') && containers.some((c) => p.cmdline.includes(c.Id))) ||
      (p.cmdline.includes('docker-proxy') && ports.has(Number(/-host-port (\d+) /.exec(p.cmdline)?.[1]))),
  );
  return [process.pid, ...mine.map((p) => Number(p.pid))];
}

/**
 * Waits (bounded) until the worker has no job running or waiting, nor a compliance run that
 * stepped aside for the orders: ready servers' follow-up work (compliance checks, first reports) is done.
 */
async function workerIdle(queues: Queue[]): Promise<void> {
  await until('the worker idle (no job running or waiting)', async () => {
    const counts = await Promise.all(queues.map((q) => q.getJobCounts('active', 'waiting', 'prioritized')));
    const deferred = (await Promise.all(queues.map((q) => q.getDelayed()))).flat().filter((job) => job.name === COMPLIANCE_CHECK_JOB);
    return deferred.length === 0 && counts.every((c) => (c.active ?? 0) + (c.waiting ?? 0) + (c.prioritized ?? 0) === 0) ? true : undefined;
  }, SETTLE_TIMEOUT_MS, 1_000);
}

interface TimedOrder {
  ms: number;
  steps: Record<string, number>;
  /** Parts of a step, as `step.part` (the container step's engine start and Prosody's). */
  parts: Record<string, number>;
  /** The order's time outside its steps: waits in the queue between them, the API's polling. */
  outsideSteps: number;
  window: Window;
  /** How long the worker's event loop was held up meanwhile. */
  loopLag: LoopLag;
}

/** Shares (0-1) as percentages with one decimal. */
const percentages = (shares: Record<string, number>) => Object.fromEntries(Object.entries(shares).map(([name, share]) => [name, round(share * 100, 1)]));
const describeShares = (shares: Record<string, number | null>) => Object.entries(shares).map(([name, pct]) => `${name} ${pct}%`).join(', ') || 'none';

/** The p50 of each step, each followed by its parts', and of the time outside steps. */
const whereTimeGoes = (orders: readonly TimedOrder[]): Record<string, number | null> => {
  const partNames = [...new Set(orders.flatMap((o) => Object.keys(o.parts)))];
  const parts = p50s(orders.map((o) => o.parts), partNames);
  return {
    ...Object.fromEntries(
      Object.entries(stepP50s(orders.map((o) => o.steps))).flatMap(([step, ms]) => [[step, ms], ...Object.entries(parts).filter(([part]) => part.startsWith(`${step}.`))]),
    ),
    outside_steps: round(percentile(orders.map((o) => o.outsideSteps), 50)),
  };
};

/** The p50 over the orders of each one's event-loop delay of the worker (mean, p99, max), in ms. */
const loopLagP50s = (orders: readonly TimedOrder[]) => ({
  mean: round(percentile(orders.map((o) => o.loopLag.meanMs), 50), 1),
  p99: round(percentile(orders.map((o) => o.loopLag.p99Ms), 50), 1),
  max: round(percentile(orders.map((o) => o.loopLag.maxMs), 50), 1),
});

interface PassSplit {
  beside: { orders: number; p50Ms: number | null };
  clear: { orders: number; p50Ms: number | null };
  /** How long the passes that ran during the phase took. */
  passP50Ms: number | null;
}

/** The orders' p50 split by whether a pass (of `passes`) ran during any part of each one. */
function splitByPasses(orders: readonly TimedOrder[], passes: readonly Window[]): PassSplit {
  const p50 = (values: number[]) => (values.length > 0 ? round(percentile(values, 50)) : null);
  const beside = orders.filter((o) => overlapped(o.window, passes));
  const clear = orders.filter((o) => !overlapped(o.window, passes));
  const phase = { from: Math.min(...orders.map((o) => o.window.from)), to: Math.max(...orders.map((o) => o.window.to)) };
  return {
    beside: { orders: beside.length, p50Ms: p50(beside.map((o) => o.ms)) },
    clear: { orders: clear.length, p50Ms: p50(clear.map((o) => o.ms)) },
    passP50Ms: p50(passes.filter((pass) => overlapped(phase, [pass])).map((pass) => pass.to - pass.from)),
  };
}

interface Ceiling {
  resource: string;
  atStart: number;
  atEnd: number;
  perServer: number;
  limit: number;
  /** Servers the node would hold when this resource runs out, extrapolated linearly. */
  servers: number;
}

/** Where each resource runs out, extrapolating what the servers added used from start to end. */
function ceilings(start: HostSample, end: HostSample, servers: number, perServer: { memoryMiB: number; ports: number }, cpu: { empty: number; full: number }): Ceiling[] {
  const limits = hostLimits();
  const linear = (resource: string, atStart: number, atEnd: number, limit: number): Ceiling => {
    const perServer = (atEnd - atStart) / servers;
    return { resource, atStart, atEnd, perServer, limit, servers: perServer > 0 ? Math.floor(servers + (limit - atEnd) / perServer) : Infinity };
  };
  return [
    // Memory: what the servers and Docker's daemons take, until the empty node's MemAvailable is spent.
    linear('memory (MiB of MemAvailable)', 0, servers * perServer.memoryMiB, start.memAvailableMiB),
    linear('tasks (PIDs: pid_max, threads-max)', start.tasks, end.tasks, limits.tasks),
    linear('file handles (fs.file-max)', start.fileHandles, end.fileHandles, limits.fileHandles),
    linear('inotify instances (max_user_instances)', start.inotifyInstances, end.inotifyInstances, limits.inotifyInstances),
    ...(start.conntrack !== null && end.conntrack !== null && limits.conntrack !== null ? [linear('conntrack entries', start.conntrack, end.conntrack, limits.conntrack)] : []),
    linear('ports on the tenant bridge (BR_MAX_PORTS)', start.bridgePorts, end.bridgePorts, limits.bridgePorts),
    linear(`host ports in the bench's range (${PORT_RANGE.first}-${PORT_RANGE.last})`, 0, servers * perServer.ports, PORT_RANGE.last - PORT_RANGE.first + 1),
    linear('host ports in NODE_PORT_RANGE (default 20000-29999)', 0, servers * perServer.ports, PRODUCTION_PORT_RANGE_SIZE),
    // The node's own processes on an idle node (health checks, reconciliation, Prosody's timers),
    // until the cores are busy: Postgres and Docker's daemons not counted.
    linear('CPU of the node\'s processes, idle (% of all cores)', cpu.empty * 100, cpu.full * 100, 100),
  ];
}

async function main(): Promise<void> {
  const total = TARGET + SEQUENTIAL;
  if (total * PORTS_PER_SERVER > PORT_RANGE.last - PORT_RANGE.first + 1) {
    throw new Error(`${total} servers need ${total * PORTS_PER_SERVER} host ports; the bench's range ${PORT_RANGE.first}-${PORT_RANGE.last} holds ${Math.floor((PORT_RANGE.last - PORT_RANGE.first + 1) / PORTS_PER_SERVER)} servers`);
  }
  if (TARGET < SEQUENTIAL) throw new Error(`--servers (${TARGET}) must be at least --sequential (${SEQUENTIAL})`);
  const production = loadWorkerConfig();
  // Customers on the Team plan, each up to its quota (ACME_ORDERS_PER_ACCOUNT, 20, is above it).
  const quota = PLANS.find((p) => p.code === 'team')?.maxServers ?? 0;
  const customersNeeded = Math.ceil(total / quota);
  const signupsPerIp = customersNeeded + 1; // and the operator
  const docker = new Docker({ socketPath: testEnv().DOCKER_SOCKET });

  // A killed run's servers: this node's label is the bench's, so they are its own to remove.
  const leftovers = await docker.listContainers({ all: true, filters: { label: [`parley.node=${NODE_NAME}`] } });
  await removeLeftoverProbes(docker);
  const runtime = new DockerContainerRuntime(docker);
  for (const serverId of new Set(leftovers.map((c) => c.Labels['parley.server']).filter((id): id is string => Boolean(id)))) await runtime.removeServer(serverId);

  const harness = await ProvisioningHarness.create(PORT_RANGE.first, {
    turnTls: true,
    configure: (config) => ({ ...config, node: { ...config.node, name: NODE_NAME, hostname: `${NODE_NAME}.${config.platformZone}`, portRangeEnd: PORT_RANGE.last } }),
  });
  const api = await startPlatformApi(harness, { configure: (config) => ({ ...config, rateLimits: { ...config.rateLimits, signupsPerIp: { max: signupsPerIp, windowSeconds: 3600 } } }) }).catch(async (error: unknown) => {
    await harness.close();
    throw error;
  });
  const connection = new Redis(harness.redis.url, { maxRetriesPerRequest: null });
  const queues = [new Queue(PROVISIONING_QUEUE, { connection }), new Queue(XMPP_USERS_QUEUE, { connection })];
  /** Every server ordered, with the customer who ordered it, who deletes it at the end. */
  const servers: { id: string; request: ApiRequest }[] = [];
  let worker: PlatformProcess | undefined;
  let fixtureAccount: string | undefined;
  try {
    // Its metrics on a port of the bench's own, which only the bench reads (each read resets the event-loop histogram).
    const metricsAddress = `127.0.0.1:${await freePort()}`;
    const workerMetrics = `http://${metricsAddress}/metrics`;
    worker = await startProductionWorker(harness, { compliance: production.jobs.complianceAfterReady, env: { ACME_ORDER_BUDGET: String(ACME_ORDER_BUDGET), WORKER_METRICS_ADDRESS: metricsAddress } });
    const customers: { request: ApiRequest; orders: number }[] = [];
    for (let i = 0; i < customersNeeded; i++) customers.push({ request: await signUpWithToken(api.url), orders: 0 });
    const label = `d${Date.now().toString(36)}`;
    let named = 0;
    /** Orders one server as the next customer with quota left; resolves with its id and order → the API says ready, in ms. */
    const orderUntilReady = async (): Promise<{ id: string; ms: number }> => {
      const customer = customers.find((c) => c.orders < quota);
      if (!customer) throw new Error('every customer has used its quota');
      customer.orders++;
      const started = performance.now();
      const ordered = await order(customer.request, `${label}n${named++}`);
      servers.push({ id: ordered.id, request: customer.request });
      return { id: ordered.id, ms: (await readyPerApi(customer.request, ordered.id, READY_TIMEOUT_MS)).at - started };
    };
    /** One order on an otherwise quiet node, with where its time went. */
    const timedOrder = async (into: TimedOrder[]) => {
      await resetLoopLag(workerMetrics);
      const from = Date.now();
      const { id, ms } = await orderUntilReady();
      const to = Date.now();
      const loopLag = await readLoopLag(workerMetrics);
      const timeline = await timelineOf(harness, id);
      const steps = stepDurations(timeline);
      into.push({ ms, steps, parts: containerParts(timeline), outsideSteps: ms - Object.values(steps).reduce((sum, step) => sum + step, 0), window: { from, to }, loopLag });
    };

    // The worker's start-up work (first pass, census) is over before the empty node is measured.
    await workerIdle(queues);
    const bridge = harness.config.node.tenantNetwork;
    const start = sampleHost(bridge);
    const availableBefore = memAvailable();
    const daemonsBefore = dockerDaemonsPss(processes());
    const cpuEmpty = await cpuBusyOver(CPU_WINDOW_MS, await nodeProcesses(docker));
    const samples: (HostSample & { servers: number })[] = [{ ...start, servers: 0 }];
    const failures: string[] = [];
    let ready = 0;
    const counted = () => {
      ready++;
      if (ready % SAMPLE_EVERY === 0) samples.push({ ...sampleHost(bridge), servers: ready });
    };

    const readyEmpty: TimedOrder[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      await timedOrder(readyEmpty);
      counted();
    }
    // After the first servers (the tenant network exists once one started) and their follow-up work.
    await workerIdle(queues);
    const dockerEmpty = { servers: ready, ...(await timeDockerStart(docker, production.prosodyImage, bridge, DOCKER_START_SAMPLES)) };
    // The fill stops at its first failure: what failed, and the resources then, say what ran out.
    const fillStart = performance.now();
    await pooled(TARGET - SEQUENTIAL, CONCURRENCY, async () => {
      if (failures.length > 0) return;
      try {
        await orderUntilReady();
        counted();
      } catch (error) {
        failures.push(`after ${ready} ready: ${describe(error)}`);
        samples.push({ ...sampleHost(bridge), servers: ready });
      }
    });
    const fillMs = performance.now() - fillStart;
    await workerIdle(queues);

    const readyLoaded: TimedOrder[] = [];
    for (let i = 0; i < SEQUENTIAL && failures.length === 0; i++) {
      try {
        await timedOrder(readyLoaded);
        counted();
      } catch (error) {
        failures.push(`loaded order ${i + 1}: ${describe(error)}`);
      }
    }
    await workerIdle(queues);

    const dockerFull = { servers: ready, ...(await timeDockerStart(docker, production.prosodyImage, bridge, DOCKER_START_SAMPLES)) };
    // The full node, idle: CPU over one window, then every server's footprint.
    const cpuFull = await cpuBusyOver(CPU_WINDOW_MS, await nodeProcesses(docker));
    const end = sampleHost(bridge);
    samples.push({ ...end, servers: ready });
    const availableAfter = memAvailable();
    const all = processes();
    const userlandProxy = dockerUserlandProxy(all);
    const daemonsAfter = dockerDaemonsPss(all);
    const owned = await docker.listContainers({ filters: { label: [`parley.node=${NODE_NAME}`] } });
    const ours = owned.filter((c) => servers.some((server) => server.id === c.Labels['parley.server']));
    const footprints = await pooled(ours.length, FOOTPRINT_WIDTH, (i) => serverFootprint(docker, ours[i]?.Id ?? '', all, userlandProxy));
    const running = footprints.length;
    const mean = (pick: (f: ServerFootprint) => number) => footprints.reduce((sum, f) => sum + pick(f), 0) / running;
    const portsPerServer = mean((f) => f.ports);

    // The operators' list with LIST_ROWS servers in the database (the rows live only for this).
    const operator = await signUpOperator(api.url, harness.prisma);
    fixtureAccount = await insertFixture(harness.prisma, LIST_ROWS, `${label}f`, harness.config.platformZone);
    const list = await timeList(operator, LIST_WARMUP, LIST_REQUESTS);
    await removeFixture(harness.prisma, fixtureAccount);
    fixtureAccount = undefined;

    const spans = await jobSpans(queues);
    const background = { empty: backgroundShare(spans, readyEmpty.map((o) => o.window)), loaded: backgroundShare(spans, readyLoaded.map((o) => o.window)) };
    const reconcileSpans = spans.get(RECONCILE_JOB) ?? [];
    const byReconcile = { empty: splitByPasses(readyEmpty, reconcileSpans), full: splitByPasses(readyLoaded, reconcileSpans) };
    const mibPerServer = mean((f) => f.container + f.shim + f.proxies) / MiB;
    const daemonsMibPerServer = (daemonsAfter - daemonsBefore) / ready / MiB;
    const limits = ceilings(start, end, running, { memoryMiB: mibPerServer + Math.max(0, daemonsMibPerServer), ports: portsPerServer }, { empty: cpuEmpty.node, full: cpuFull.node });
    const first = [...limits].sort((a, b) => a.servers - b.servers)[0];
    const settings = {
      api: `over HTTP (sign-up, token, POST /servers, GET /servers/{id} polled every ${POLL_MS} ms)`,
      ...productionSettings(production),
      COMPLIANCE_AFTER_READY: production.jobs.complianceAfterReady,
      ACME_ORDER_BUDGET,
      SIGNUP_MAX_PER_IP_PER_HOUR: signupsPerIp,
      plan: `team (${quota} servers per customer, ${customersNeeded} customers)`,
      NODE_PORT_RANGE: `${PORT_RANGE.first}-${PORT_RANGE.last}`,
      docker_userland_proxy: userlandProxy,
      sequential: SEQUENTIAL,
      concurrency: CONCURRENCY,
      cpu_window_ms: CPU_WINDOW_MS,
      WORKER_METRICS_ADDRESS: `${metricsAddress} (read by the bench before and after each timed order)`,
      list: `GET /api/v1${DASHBOARD_LIST_PATH} as an operator, ${LIST_WARMUP} warm-up + ${LIST_REQUESTS} timed one at a time`,
    };
    const result = {
      servers: running,
      servers_target: TARGET,
      target_reached: running >= TARGET,
      mib_per_server: round(mibPerServer, 1),
      mib_container: round(mean((f) => f.container) / MiB, 1),
      mib_shim: round(mean((f) => f.shim) / MiB, 1),
      mib_docker_proxies: round(mean((f) => f.proxies) / MiB, 1),
      mem_available_drop_mib_per_server: round((availableBefore - availableAfter) / ready / MiB, 1),
      docker_daemons_mib_per_server: round(daemonsMibPerServer, 2),
      pids_per_server: round(mean((f) => f.pids), 1),
      ports_per_server: round(portsPerServer, 1),
      ready_p50_empty_ms: round(percentile(readyEmpty.map((o) => o.ms), 50)),
      ready_p95_empty_ms: round(percentile(readyEmpty.map((o) => o.ms), 95)),
      ready_p50_loaded_ms: round(percentile(readyLoaded.map((o) => o.ms), 50)),
      ready_p95_loaded_ms: round(percentile(readyLoaded.map((o) => o.ms), 95)),
      ready_ratio_loaded_empty: round(percentile(readyLoaded.map((o) => o.ms), 50) / percentile(readyEmpty.map((o) => o.ms), 50), 2),
      step_p50_empty_ms: whereTimeGoes(readyEmpty),
      step_p50_loaded_ms: whereTimeGoes(readyLoaded),
      worker_loop_lag_ms: { empty: loopLagP50s(readyEmpty), full: loopLagP50s(readyLoaded) },
      docker_start_servers: { empty: dockerEmpty.servers, full: dockerFull.servers },
      docker_start_4_ports_ms: { empty: round(dockerEmpty.withPortsMs), full: round(dockerFull.withPortsMs) },
      docker_start_no_ports_ms: { empty: round(dockerEmpty.withoutPortsMs), full: round(dockerFull.withoutPortsMs) },
      background_share_empty: percentages(background.empty),
      background_share_loaded: percentages(background.loaded),
      ready_by_reconcile_pass: byReconcile,
      fill_servers: TARGET - SEQUENTIAL,
      fill_wall_ms: round(fillMs),
      cpu_node_pct_empty: round(cpuEmpty.node * 100, 1),
      cpu_node_pct_full: round(cpuFull.node * 100, 1),
      cpu_host_pct_empty: round(cpuEmpty.host * 100, 1),
      cpu_host_pct_full: round(cpuFull.host * 100, 1),
      api_list_p50_ms_10k: round(list.p50, 1),
      api_list_p99_ms_10k: round(list.p99, 1),
      api_list_rows: LIST_ROWS + running,
      api_list_items: list.items,
      api_list_bytes: list.bytes,
      density_limit: first ? { resource: first.resource, servers: first.servers } : null,
      ceilings: Object.fromEntries(limits.map((c) => [c.resource, c.servers === Infinity ? null : c.servers])),
      failures: failures.slice(0, 5),
      host_at_end: end,
      settings,
    };

    const fmt = (n: number | null) => (n === null ? '—' : n.toLocaleString('en-US'));
    console.log('Density benchmark (sandbox: Docker, PowerDNS, Pebble, coturn on this machine)');
    console.log(`  settings: ${Object.entries(settings).map(([key, value]) => `${key}=${value}`).join(', ')}`);
    console.log(`  servers running at the end   ${running} (target ${TARGET}${failures.length > 0 ? `; the fill stopped: ${failures[0]}` : ''})`);
    console.log(`  order → the API says ready, ${SEQUENTIAL} one at a time, empty node   p50 ${fmt(result.ready_p50_empty_ms)} ms   p95 ${fmt(result.ready_p95_empty_ms)} ms`);
    console.log(`  order → the API says ready, ${SEQUENTIAL} one at a time, full node    p50 ${fmt(result.ready_p50_loaded_ms)} ms   p95 ${fmt(result.ready_p95_loaded_ms)} ms   (ratio ${result.ready_ratio_loaded_empty ?? '—'}, target ≤ 1.3)`);
    console.log(`  where the time goes (p50 per step; container.engine / .answering: until the engine started it / then until XMPP answered; the engine's parts: .spec built from the database, .prepare network and volumes, .create, .files written, .start Docker's start; outside_steps: queues, the API's polling)`);
    console.log(`    ${'step'.padEnd(24)} ${'empty'.padStart(8)} ${'full'.padStart(8)}`);
    for (const [step, ms] of Object.entries(result.step_p50_empty_ms)) console.log(`    ${step.padEnd(24)} ${fmt(ms).padStart(8)} ${fmt(result.step_p50_loaded_ms[step] ?? null).padStart(8)}`);
    const lag = result.worker_loop_lag_ms;
    console.log(`  the worker's event loop held up during an order (p50 over the orders of each one's mean / p99 / max delay): empty ${lag.empty.mean} / ${lag.empty.p99} / ${lag.empty.max} ms, full ${lag.full.mean} / ${lag.full.p99} / ${lag.full.max} ms`);
    console.log(`  Docker alone (a sleeping container of the image created and started on the tenant network, p50 of ${DOCKER_START_SAMPLES}): 4 published ports ${fmt(result.docker_start_4_ports_ms.empty)} → ${fmt(result.docker_start_4_ports_ms.full)} ms, none ${fmt(result.docker_start_no_ports_ms.empty)} → ${fmt(result.docker_start_no_ports_ms.full)} ms (${dockerEmpty.servers} → ${dockerFull.servers} servers on the node)`);
    console.log(`  periodic jobs running during the timed orders (share of the orders' time): empty ${describeShares(result.background_share_empty)}; full ${describeShares(result.background_share_loaded)}`);
    const side = (split: PassSplit) =>
      `${split.beside.orders} beside a pass p50 ${fmt(split.beside.p50Ms)} ms, ${split.clear.orders} clear of them p50 ${fmt(split.clear.p50Ms)} ms (the phase's passes took p50 ${fmt(split.passP50Ms)} ms)`;
    console.log(`  the timed orders by whether a reconcile pass ran beside them: empty ${side(byReconcile.empty)}; full ${side(byReconcile.full)}`);
    console.log(`  fill: ${result.fill_servers} servers, ${CONCURRENCY} at a time, in ${Math.round(fillMs / 1000)} s`);
    console.log(`  memory per idle server   ${result.mib_per_server} MiB: container ${result.mib_container}, shim ${result.mib_shim}, docker-proxy processes ${result.mib_docker_proxies} (PSS; target ≤ 20)`);
    console.log(`  cross-check: MemAvailable fell by ${result.mem_available_drop_mib_per_server} MiB per server from the empty node to the full one (includes page cache, Docker's daemons: ${result.docker_daemons_mib_per_server} MiB per server, the worker)`);
    console.log(`  tasks (PIDs) per server ${result.pids_per_server}, host ports per server ${result.ports_per_server}`);
    console.log(`  CPU of the node's processes (API, worker, its Redis, shims, Prosody, docker-proxies), idle: empty ${result.cpu_node_pct_empty}%, ${running} servers ${result.cpu_node_pct_full}% of all cores (${CPU_WINDOW_MS / 1000} s each; the whole host: ${result.cpu_host_pct_empty}% and ${result.cpu_host_pct_full}%)`);
    console.log(`  GET /api/v1${DASHBOARD_LIST_PATH} as an operator, ${fmt(result.api_list_rows)} servers in the database (${list.items} items, ${fmt(list.bytes)} bytes)   p50 ${result.api_list_p50_ms_10k} ms   p99 ${result.api_list_p99_ms_10k} ms (target ≤ 100)`);
    console.log(`  what runs out first (linear from the empty node to ${running} servers):`);
    console.log(`    ${'resource'.padEnd(52)} ${'at start'.padStart(10)} ${'at end'.padStart(10)} ${'/server'.padStart(8)} ${'limit'.padStart(10)} ${'servers'.padStart(8)}`);
    for (const c of [...limits].sort((a, b) => a.servers - b.servers)) {
      console.log(`    ${c.resource.padEnd(52)} ${fmt(round(c.atStart)).padStart(10)} ${fmt(round(c.atEnd)).padStart(10)} ${String(round(c.perServer, 2)).padStart(8)} ${fmt(round(c.limit)).padStart(10)} ${fmt(c.servers === Infinity ? null : c.servers).padStart(8)}`);
    }
    console.log(`  samples while filling (servers: MemAvailable MiB, tasks, file handles, inotify, conntrack, bridge ports, load):`);
    for (const s of samples) console.log(`    ${String(s.servers).padStart(4)}: ${Math.round(s.memAvailableMiB)}, ${s.tasks}, ${s.fileHandles}, ${s.inotifyInstances}, ${s.conntrack ?? '—'}, ${s.bridgePorts}, ${s.load1}`);
    console.log(JSON.stringify(result));
  } finally {
    const fixture = fixtureAccount;
    await tearDownAll([
      async () => {
        if (fixture) await removeFixture(harness.prisma, fixture);
      },
      // Deleted through the API as a customer would; the worker process removes them.
      () => (worker ? deleteThroughApi(harness, servers, TEARDOWN_TIMEOUT_MS) : Promise.resolve()),
      async () => worker?.stop(),
      () => Promise.all(queues.map((q) => q.close())),
      () => Promise.resolve(connection.disconnect()),
      () => api.close(),
      () => harness.close(),
    ]);
  }
}

main().catch((error: unknown) => {
  console.error(`bench:density failed: ${describe(error)}${error instanceof AggregateError ? `: ${error.errors.map(describe).join('; ')}` : ''}`);
  process.exitCode = 1;
});
