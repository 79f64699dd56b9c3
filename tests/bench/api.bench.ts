// bench:api: authenticated GET /api/v1/servers (50 servers in the account) against the floor of
// any Postgres-backed endpoint, with bare Fastify hello-world for scale. `npm run bench:api`
// prints a table and, as its last line, one JSON object with every figure.
//
// Where things run (the machine has 2 cores, shared with Postgres): the API, the floor and
// hello-world are all served by this process's main thread, one at a time; autocannon runs in a
// worker thread (`workers: 1`), so the load generator never shares the servers' event loop. The
// floor lives in the same process as the API rather than in a child process: same Node, same pg,
// same pool size; as the runs are strictly sequential, the app that is not under load is idle
// and costs nothing, and a child would only add a process competing for the same 2 cores.
import { randomBytes } from 'node:crypto';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg } from 'node:os';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { serverListQuery, toServerItem, type ServerFields } from '../../api/src/servers/server-list.js';
import { toPage } from '../../api/src/http/schemas.js';
import { startApiHarness, withToken, type ApiHarness } from '../support/api-harness.js';
import { buildApp } from '../../api/src/app.js';
import { healthMessage, type HealthStatus } from '../../worker/src/contracts/health.js';

// autocannon ships no types (and @types/autocannon is not a dependency): the little used here.
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  throughput: { average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  workers?: number;
  headers?: Record<string, string>;
  timeout?: number;
}) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const { values: args } = parseArgs({
  options: {
    warmup: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
  },
});
const WARMUP_S = Number(args.warmup);
const DURATION_S = Number(args.duration);
const CONNECTIONS = 50;
const SERVERS = 50;
const PAGE_LIMIT = 50; // the list's default page size; the query asks for one more row (LIMIT 51)
const REQUEST_TIMEOUT_S = 10;
const POOL_MAX = 10; // what PrismaPg's pg.Pool gets by default, so the floor has as many connections as the API

const TARGET_RATIO = 0.7;
const TARGET_P99_RATIO = 1.5;

// The columns Prisma 7.10 selects for `server.findMany({ include: { node, plan, portAllocations } })`
// (captured from its query log): every scalar column, enums cast to text. Only the row "Prisma's
// SQL via pg" sends them now.
const SERVER_COLUMNS = [
  'id', 'account_id', 'name', 'domain', 'domain_kind::text', 'custom_domain_id', 'federation', 'plan_id', 'node_id',
  'desired_state::text', 'state::text', 'state_reason', 'state_changed_at', 'spec_hash', 'container_id', 'ready_at',
  'version', 'created_at', 'updated_at', 'deleted_at', 'health::text', 'health_issue', 'health_changed_at', 'health_checked_at',
];
const NODE_COLUMNS = [
  'id', 'name', 'hostname', 'public_address', 'docker_endpoint', 'port_range_start', 'port_range_end', 'state::text', 'created_at', 'updated_at',
];
const PLAN_COLUMNS = [
  'id', 'code', 'name', 'max_servers', 'max_users_per_server', 'storage_mib', 'memory_mib', 'cpu_millis', 'pids_limit', 'active', 'created_at', 'updated_at',
];
const PORT_COLUMNS = ['id', 'node_id', 'port', 'server_id', 'purpose::text', 'created_at'];

const cols = (table: string, columns: string[]) => columns.map((c) => `"public"."${table}".${c.replace(/^(\w+)/, '"$1"')}`).join(', ');

/** Prisma's first statement, verbatim. */
const SERVERS_SQL =
  `SELECT ${cols('servers', SERVER_COLUMNS)} FROM "public"."servers" ` +
  `WHERE ("public"."servers"."account_id" = $1 AND "public"."servers"."deleted_at" IS NULL) ` +
  `ORDER BY "public"."servers"."id" DESC LIMIT $2 OFFSET $3`;

const inList = (table: string, column: string, n: number) =>
  `"public"."${table}"."${column}" IN (${n === 0 ? 'NULL' : Array.from({ length: n }, (_, i) => `$${i + 1}`).join(',')}) OFFSET $${n + 1}`;

interface SqlServerRow {
  id: string;
  name: string;
  domain: string;
  federation: boolean;
  plan_id: string;
  node_id: string | null;
  state: string;
  state_reason: string | null;
  desired_state: string;
  created_at: Date;
  ready_at: Date | null;
  health: HealthStatus;
  health_issue: string | null;
  health_changed_at: Date | null;
  health_checked_at: Date | null;
}
interface SqlListRow extends SqlServerRow {
  plan: { code: string } | undefined;
  port_allocations: { purpose: string; port: number }[];
}

/**
 * The same item the API sends (toServerItem in server-list.ts, from Prisma's columns instead),
 * so both sides put the same bytes on the wire; main() checks the bodies are equal.
 */
function toItem(row: SqlListRow) {
  const ports = Object.fromEntries(row.port_allocations.map((p) => [p.purpose, p.port])) as Partial<Record<string, number>>;
  return {
    id: row.id,
    name: row.name,
    domain: row.domain,
    federation: row.federation,
    plan: row.plan?.code ?? '',
    state: row.state,
    stateReason: row.state_reason,
    desiredState: row.desired_state,
    createdAt: row.created_at.toISOString(),
    readyAt: row.ready_at?.toISOString() ?? null,
    health: {
      status: row.health,
      issue: row.health_issue,
      message: healthMessage(row.health, row.health_issue),
      since: row.health_changed_at?.toISOString() ?? null,
      checkedAt: row.health_checked_at?.toISOString() ?? null,
    },
    connection:
      ports.c2s === undefined
        ? null
        : {
            jidDomain: row.domain,
            host: row.domain,
            ports: { starttls: ports.c2s, directTls: ports.c2s_direct_tls ?? null, federation: row.federation ? (ports.s2s ?? null) : null, upload: ports.https ?? null },
          },
  };
}

const toPageOf = (rows: SqlListRow[]) => ({
  items: rows.slice(0, PAGE_LIMIT).map(toItem),
  nextCursor: rows.length > PAGE_LIMIT ? (rows[PAGE_LIMIT - 1]?.id ?? null) : null,
});

/**
 * The floor: the statement the API sends for the page (serverListQuery, one round trip, only the
 * columns the items show), mapped to items by the API's own toServerItem. Before the API sent it,
 * the floor joined every column of the four tables Prisma read and aggregated them as JSON: a
 * statement the API never sent, costlier in both Postgres and JS than the one it sends now, which
 * would have measured the API against more work than it does.
 */
async function floorList(pool: pg.Pool, accountId: string) {
  const page = { limit: PAGE_LIMIT };
  const query = serverListQuery({ accountId }, page);
  // Prepared once per connection, as the API's SqlReader does (prisma/client.ts).
  const rows = (await pool.query<ServerFields>({ name: 'floor_list', text: query.text, values: query.values })).rows;
  return toPage(rows, page.limit, (row) => row.id, (row) => toServerItem(row, 'customer'));
}

/**
 * What Prisma's findMany({ include: { node, plan, portAllocations } }) sends for the list (the
 * API's list before it sent one statement of its own): four statements, one after the other
 * (servers, then the nodes, plans and port allocations of that page by IN list), stitched
 * together in JS.
 */
async function prismaShapedList(pool: pg.Pool, accountId: string) {
  const servers = (await pool.query<SqlServerRow>(SERVERS_SQL, [accountId, PAGE_LIMIT + 1, 0])).rows;
  const nodeIds = [...new Set(servers.flatMap((s) => (s.node_id === null ? [] : [s.node_id])))];
  const planIds = [...new Set(servers.map((s) => s.plan_id))];
  const serverIds = servers.map((s) => s.id);
  const nodes = await pool.query<{ id: string }>(`SELECT ${cols('nodes', NODE_COLUMNS)} FROM "public"."nodes" WHERE ${inList('nodes', 'id', nodeIds.length)}`, [...nodeIds, 0]);
  const plans = await pool.query<{ id: string; code: string }>(`SELECT ${cols('plans', PLAN_COLUMNS)} FROM "public"."plans" WHERE ${inList('plans', 'id', planIds.length)}`, [
    ...planIds,
    0,
  ]);
  const ports = await pool.query<{ server_id: string; purpose: string; port: number }>(
    `SELECT ${cols('port_allocations', PORT_COLUMNS)} FROM "public"."port_allocations" WHERE ${inList('port_allocations', 'server_id', serverIds.length)}`,
    [...serverIds, 0],
  );
  const nodeById = new Map(nodes.rows.map((n) => [n.id, n]));
  const planById = new Map(plans.rows.map((p) => [p.id, p]));
  const portsByServer = new Map<string, { purpose: string; port: number }[]>();
  for (const p of ports.rows) {
    const list = portsByServer.get(p.server_id);
    if (list) list.push(p);
    else portsByServer.set(p.server_id, [p]);
  }
  return toPageOf(
    servers.map((s) => ({
      ...s,
      node: s.node_id === null ? null : (nodeById.get(s.node_id) ?? null),
      plan: planById.get(s.plan_id),
      port_allocations: portsByServer.get(s.id) ?? [],
    })),
  );
}

/** Where two JSON values first differ, as a path and both values: what a mismatch error names. */
function firstDifference(a: unknown, b: unknown, path = '$'): string {
  if (isDeepStrictEqual(a, b)) return '';
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const found = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${path}.${key}`);
      if (found) return found;
    }
  }
  return `${path}: ${JSON.stringify(a)} instead of ${JSON.stringify(b)}`;
}

/** 50 ready servers on one node, each with its four ports, as the worker leaves them. */
async function seedServers(harness: ApiHarness, accountId: string): Promise<void> {
  const { prisma } = harness;
  const zone = harness.config.platformZone;
  const tag = randomBytes(3).toString('hex');
  const plan = await prisma.plan.findUniqueOrThrow({ where: { code: 'team' } });
  const node = await prisma.node.create({
    data: { name: `bench-${tag}`, hostname: `node-${tag}.${zone}`, publicAddress: '127.0.0.1', dockerEndpoint: 'unix:///var/run/docker.sock', portRangeStart: 20_000, portRangeEnd: 29_999 },
  });
  const now = new Date();
  const servers = await prisma.server.createManyAndReturn({
    data: Array.from({ length: SERVERS }, (_, i) => ({
      accountId,
      name: `bench${i}`,
      domain: `bench${i}-${tag}.${zone}`,
      domainKind: 'platform' as const,
      federation: i % 2 === 0,
      planId: plan.id,
      nodeId: node.id,
      state: 'ready' as const,
      readyAt: now,
    })),
    select: { id: true },
  });
  const purposes = ['c2s', 'c2s_direct_tls', 's2s', 'https'] as const;
  await prisma.portAllocation.createMany({
    data: servers.flatMap((s, i) => purposes.map((purpose, j) => ({ nodeId: node.id, serverId: s.id, purpose, port: 20_000 + i * purposes.length + j }))),
  });
}

// Where the CPU went during a measured window, from /proc (Linux; zeros elsewhere), in clock ticks.
const TICK_MS = 10; // USER_HZ is 100 on Linux
const readTicks = (path: string, from: number, count: number): number[] => {
  try {
    const stat = readFileSync(path, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ').slice(from, from + count).map(Number);
  } catch {
    return [];
  }
};
/** utime + stime of a process or thread. */
const taskTicks = (path: string) => readTicks(path, 11, 2).reduce((a, b) => a + b, 0);

interface CpuSnapshot {
  machineBusy: number;
  machineTotal: number;
  mainThread: number;
  process: number;
  /** Per backend: a backend that ends during the window (an idle pool connection) must not take its earlier CPU along. */
  ourPostgres: Map<string, number>;
}

/** Machine, this process, its main thread (the servers' event loop) and the Postgres backends of `database`. */
function cpuSnapshot(database: string): CpuSnapshot {
  let machineBusy = 0;
  let machineTotal = 0;
  try {
    const [cpu = ''] = readFileSync('/proc/stat', 'utf8').split('\n');
    const fields = cpu.trim().split(/\s+/).slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
    machineTotal = fields.reduce((a, b) => a + b, 0);
    machineBusy = machineTotal - (fields[3] ?? 0) - (fields[4] ?? 0);
  } catch {
    // not Linux: no CPU figures
  }
  const ourPostgres = new Map<string, number>();
  for (const pid of safeReaddir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (title.startsWith('postgres:') && title.includes(` ${database} `)) ourPostgres.set(pid, taskTicks(`/proc/${pid}/stat`));
    } catch {
      // the process ended while we looked
    }
  }
  return { machineBusy, machineTotal, mainThread: taskTicks(`/proc/self/task/${process.pid}/stat`), process: taskTicks('/proc/self/stat'), ourPostgres };
}
function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

interface Measured {
  rps: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
  bytesPerReq: number;
  statementsPerReq: number;
  /** CPU per request of the servers' event loop (this process's main thread). */
  jsMsPerReq: number;
  /** CPU per request of the Postgres backends serving the test database. */
  pgMsPerReq: number;
  /** Share of the whole machine (all cores) that went to anything else: other sessions' tests, say. */
  otherCpuPct: number;
}

/** Warm-up (discarded), then the measured window; refuses a run with any error or non-2xx. */
async function measure(url: string, headers: Record<string, string>, statementsPerReq: number, database: string): Promise<Measured> {
  const options = { url, headers, connections: CONNECTIONS, workers: 1, timeout: REQUEST_TIMEOUT_S };
  const check = (label: string, r: AutocannonResult) => {
    if (r.errors > 0 || r.timeouts > 0 || r.non2xx > 0) {
      throw new Error(`${url} (${label}): ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx answers`);
    }
  };
  if (WARMUP_S > 0) check('warm-up', await autocannon({ ...options, duration: WARMUP_S }));
  const before = cpuSnapshot(database);
  const r = await autocannon({ ...options, duration: DURATION_S });
  const after = cpuSnapshot(database);
  check('measured', r);
  const perReq = (ticks: number) => (r.requests.total > 0 ? Math.round(((ticks * TICK_MS) / r.requests.total) * 100) / 100 : 0);
  const machineTotal = after.machineTotal - before.machineTotal;
  let pgTicks = 0;
  for (const [pid, ticks] of after.ourPostgres) pgTicks += ticks - (before.ourPostgres.get(pid) ?? 0);
  const other = after.machineBusy - before.machineBusy - (after.process - before.process) - pgTicks;
  return {
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    mean: Math.round(r.latency.average * 10) / 10,
    max: r.latency.max,
    bytesPerReq: r.requests.average > 0 ? Math.round(r.throughput.average / r.requests.average) : 0,
    statementsPerReq,
    jsMsPerReq: perReq(after.mainThread - before.mainThread),
    pgMsPerReq: perReq(pgTicks),
    otherCpuPct: machineTotal > 0 ? Math.min(100, Math.max(0, Math.round((100 * other) / machineTotal))) : 0,
  };
}

/**
 * Sends `n` sequential requests and counts the SQL statements pg sends meanwhile (every query of
 * the process goes through pg.Client#query: Prisma's adapter and the floor's pool alike). Done
 * before the load, never during it: the counter is removed again at once.
 */
async function statementsPerRequest(url: string, headers: Record<string, string>, n = 20): Promise<number> {
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const original = proto.query;
  let count = 0;
  proto.query = function (this: unknown, ...a: unknown[]) {
    count++;
    return original.apply(this, a);
  };
  try {
    for (let i = 0; i < n; i++) {
      const response = await fetch(url, { headers });
      await response.arrayBuffer();
    }
  } finally {
    proto.query = original;
  }
  return Math.round((count / n) * 10) / 10;
}

async function listenBare(setup: (app: FastifyInstance) => void): Promise<{ app: FastifyInstance; base: string }> {
  const app = Fastify({ logger: false });
  setup(app);
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base };
}

async function getJson(url: string, headers: Record<string, string>): Promise<unknown> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as unknown;
}

async function main(): Promise<void> {
  if (!(WARMUP_S >= 0 && DURATION_S >= 1)) throw new Error('--warmup must be >= 0 and --duration >= 1 (seconds)');
  const cleanups: (() => Promise<unknown>)[] = [];
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      for (const step of cleanups.reverse()) await step().catch((error: unknown) => console.error(`bench:api: cleanup: ${String(error)}`));
    })());
  // Every autocannon run is bounded by its duration plus the request timeout; this bounds the whole.
  const budgetMs = (5 * (WARMUP_S + DURATION_S + REQUEST_TIMEOUT_S) + 180) * 1000;
  const watchdog = setTimeout(() => {
    console.error(`bench:api: did not finish within ${budgetMs / 1000} s; cleaning up`);
    void cleanup().finally(() => process.exit(1));
  }, budgetMs);
  watchdog.unref();

  const loadAtStart = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  const cpus = availableParallelism();
  try {
    // The production log level: a line per request, redaction on, written to a file (/dev/null) as
    // a process manager would take it.
    const harness = await startApiHarness({ config: (base) => ({ ...base, logLevel: 'info' }), logStream: createWriteStream('/dev/null') });
    cleanups.push(() => harness.close());
    const account = await harness.signUp();
    await seedServers(harness, account.id);
    const apiBase = await harness.app.listen({ host: '127.0.0.1', port: 0 });

    const pool = new pg.Pool({ connectionString: harness.config.databaseUrl, max: POOL_MAX });
    pool.on('error', () => undefined);
    cleanups.push(() => pool.end());
    const floor = await listenBare((app) => {
      // No authentication, no ORM, no validation, no response schema: the SQL, mapped to the
      // API's items, sent with JSON.stringify.
      app.get('/servers', () => floorList(pool, account.id));
      app.get('/servers-prisma-sql', () => prismaShapedList(pool, account.id));
    });
    cleanups.push(() => floor.app.close());
    const hello = await listenBare((app) => {
      app.get('/', () => ({ hello: 'world' }));
    });
    cleanups.push(() => hello.app.close());

    // The same API without metrics (API_METRICS_ADDRESS empty: no request is counted or timed).
    const unmetered = buildApp({ config: { ...harness.config, metrics: null }, logStream: createWriteStream('/dev/null') });
    cleanups.push(() => unmetered.close());
    const unmeteredBase = await unmetered.listen({ host: '127.0.0.1', port: 0 });
    // And without logs (LOG_LEVEL=silent), metrics on: what logging a request costs.
    const silent = buildApp({ config: { ...harness.config, logLevel: 'silent' } });
    cleanups.push(() => silent.close());
    const silentBase = await silent.listen({ host: '127.0.0.1', port: 0 });

    const database = new URL(harness.config.databaseUrl).pathname.slice(1);
    const api = { url: `${apiBase}/api/v1/servers`, headers: withToken(account) };
    const apiUnmetered = { url: `${unmeteredBase}/api/v1/servers`, headers: withToken(account) };
    const apiSilent = { url: `${silentBase}/api/v1/servers`, headers: withToken(account) };
    const floorOne = { url: `${floor.base}/servers`, headers: {} };
    const floorFour = { url: `${floor.base}/servers-prisma-sql`, headers: {} };
    // Same answer from all three (this is also the token's first use, whose lastUsedAt write
    // would otherwise land in the statement count below).
    const apiBody = await getJson(api.url, api.headers);
    const listed = (apiBody as { items?: unknown[] }).items?.length;
    if (listed !== SERVERS) throw new Error(`the API listed ${listed} servers, expected ${SERVERS}`);
    for (const other of [floorOne, floorFour]) {
      const answer = await getJson(other.url, other.headers);
      if (!isDeepStrictEqual(answer, apiBody)) throw new Error(`${other.url} does not answer what the API answers: ${firstDifference(answer, apiBody)}`);
    }
    const apiStatements = await statementsPerRequest(api.url, api.headers);
    const floorStatements = await statementsPerRequest(floorOne.url, floorOne.headers);
    const floorFourStatements = await statementsPerRequest(floorFour.url, floorFour.headers);

    // Sequential, never concurrent: each run has both cores (less what Postgres needs) to itself.
    const rows: [string, Measured][] = [];
    const run = async (label: string, target: { url: string; headers: Record<string, string> }, statements: number) => {
      process.stderr.write(`[bench:api] ${label}: ${WARMUP_S} s warm-up + ${DURATION_S} s\n`);
      const m = await measure(target.url, target.headers, statements, database);
      rows.push([label, m]);
      return m;
    };
    const helloM = await run('hello world (bare Fastify)', { url: `${hello.base}/`, headers: {} }, 0);
    const floorM = await run('floor: one SELECT via pg', floorOne, floorStatements);
    const prismaSqlM = await run("Prisma's SQL via pg (no ORM)", floorFour, floorFourStatements);
    const apiM = await run('API GET /api/v1/servers', api, apiStatements);
    const silentM = await run('API, log level silent', apiSilent, apiStatements);
    const unmeteredM = await run('API, metrics off', apiUnmetered, apiStatements);

    const ratio = Math.round((apiM.rps / floorM.rps) * 100) / 100;
    const p99Ratio = Math.round((apiM.p99 / floorM.p99) * 100) / 100;
    const meets = ratio >= TARGET_RATIO && p99Ratio <= TARGET_P99_RATIO;
    // The rows run one after the other while other work on the machine comes and goes, so their
    // req/s ratio moves with it from run to run; CPU per request barely does. Reported beside the
    // targets (which stay on req/s and p99) to tell the two apart.
    const cpuPerReq = (m: Measured) => m.jsMsPerReq + m.pgMsPerReq;
    const cpuRatio = cpuPerReq(apiM) > 0 ? Math.round((cpuPerReq(floorM) / cpuPerReq(apiM)) * 100) / 100 : 0;

    const pad = (v: string | number, w: number) => String(v).padStart(w);
    const settings = {
      log_level: harness.config.logLevel,
      log_redaction: true,
      log_destination: '/dev/null (a file)',
      metrics: 'on (main row)',
      servers: SERVERS,
      connections: CONNECTIONS,
      warmup_s: WARMUP_S,
      duration_s: DURATION_S,
      pg_pool_max: POOL_MAX,
      cores: cpus,
      node: process.version,
    };
    console.log(
      `API benchmark: ${SERVERS} servers in the account, autocannon on 127.0.0.1, ${CONNECTIONS} connections, ` +
        `${WARMUP_S} s warm-up + ${DURATION_S} s measured per row, one row at a time`,
    );
    console.log(`  settings: ${Object.entries(settings).map(([key, value]) => `${key}=${value}`).join(', ')}; the "log level silent" row drops logging only, "metrics off" drops metrics only`);
    const header = ['req/s', 'p50 ms', 'p99 ms', 'mean ms', 'max ms', 'bytes', 'SQL/req', 'JS ms/req', 'PG ms/req', 'other CPU'];
    console.log(`  ${'endpoint'.padEnd(30)}${header.map((h) => pad(h, 10)).join('')}`);
    for (const [label, m] of rows) {
      const cells = [m.rps, m.p50, m.p99, m.mean, m.max, m.bytesPerReq, m.statementsPerReq, m.jsMsPerReq, m.pgMsPerReq, `${m.otherCpuPct}%`];
      console.log(`  ${label.padEnd(30)}${cells.map((c) => pad(c, 10)).join('')}`);
    }
    console.log(
      `  bytes: response incl. headers. SQL/req: statements sent to Postgres per request. JS ms/req: CPU of the servers' event loop\n` +
        `  (this process's main thread) per request; PG ms/req: CPU of the test database's Postgres backends per request;\n` +
        `  other CPU: share of the whole machine (${cpus} cores) used by anything else meanwhile (above ~10% the figures are disturbed).`,
    );
    console.log(
      `  API / floor: ${ratio} of the floor's req/s (target >= ${TARGET_RATIO}), p99 ${p99Ratio}x the floor's (target <= ${TARGET_P99_RATIO}x): ` +
        `${meets ? 'targets met' : 'TARGETS MISSED'}`,
    );
    console.log(
      `  CPU per request (JS + PG): floor ${cpuPerReq(floorM).toFixed(2)} ms, API ${cpuPerReq(apiM).toFixed(2)} ms: ` +
        `floor / API ${cpuRatio} (steadier than the req/s ratio when other load comes and goes)`,
    );
    console.log(
      JSON.stringify({
        api_rps: apiM.rps,
        api_p50_ms: apiM.p50,
        api_p99_ms: apiM.p99,
        api_silent_rps: silentM.rps,
        api_silent_p99_ms: silentM.p99,
        api_metrics_off_rps: unmeteredM.rps,
        api_metrics_off_p99_ms: unmeteredM.p99,
        floor_rps: floorM.rps,
        floor_p50_ms: floorM.p50,
        floor_p99_ms: floorM.p99,
        hello_rps: helloM.rps,
        ratio_to_floor: ratio,
        p99_ratio: p99Ratio,
        meets_targets: meets,
        cpu_ratio_to_floor: cpuRatio,
        hello_p50_ms: helloM.p50,
        hello_p99_ms: helloM.p99,
        prisma_sql_rps: prismaSqlM.rps,
        prisma_sql_p50_ms: prismaSqlM.p50,
        prisma_sql_p99_ms: prismaSqlM.p99,
        api_sql_per_req: apiM.statementsPerReq,
        floor_sql_per_req: floorM.statementsPerReq,
        prisma_sql_per_req: prismaSqlM.statementsPerReq,
        api_bytes_per_req: apiM.bytesPerReq,
        floor_bytes_per_req: floorM.bytesPerReq,
        api_js_ms_per_req: apiM.jsMsPerReq,
        floor_js_ms_per_req: floorM.jsMsPerReq,
        prisma_sql_js_ms_per_req: prismaSqlM.jsMsPerReq,
        api_pg_ms_per_req: apiM.pgMsPerReq,
        floor_pg_ms_per_req: floorM.pgMsPerReq,
        prisma_sql_pg_ms_per_req: prismaSqlM.pgMsPerReq,
        other_cpu_pct_max: Math.max(...rows.map(([, m]) => m.otherCpuPct)),
        loadavg_1m_at_start: loadAtStart,
        servers: SERVERS,
        connections: CONNECTIONS,
        warmup_s: WARMUP_S,
        duration_s: DURATION_S,
        settings,
      }),
    );
  } finally {
    await cleanup();
    clearTimeout(watchdog);
  }
}

main().catch((error: unknown) => {
  console.error(`bench:api failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
