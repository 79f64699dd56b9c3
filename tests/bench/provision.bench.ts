// bench:provision: what a customer sees when ordering. Everything goes through the HTTP API as
// the dashboard does (sign-up, token, POST /servers, GET /servers/{id} until it says ready, the
// one-time admin password revealed, a client logging in with it); the worker runs as its own
// process with the production defaults of worker/src/config.ts (log level, health reports,
// reconciliation, census, backup schedule), publishing on the sandbox's edge address.
// `npm run bench:provision` prints a table and, as its last line, one JSON object.
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { loadWorkerConfig } from '../../worker/src/config.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { pebbleIssuers } from '../support/pebble.js';
import { signUpWithToken, startPlatformApi, type ApiRequest } from '../support/platform-api.js';
import { testEnv } from '../support/test-env.js';
import { tryAllocation } from '../support/turn-client.js';
import type { PlatformProcess } from '../support/platform-process.js';
import { connectAs, nextMessage, sendMessage, sendPresence, type XmppSession } from '../support/xmpp.js';
import { xml } from '@xmpp/client';
import { deleteThroughApi, json, order, readyPerApi, type ServerView } from './shared/api-orders.js';
import { dockerUserlandProxy, memAvailable, MiB, processes, serverFootprint, type ServerFootprint } from './shared/host-footprint.js';
import { EDGE, productionSettings, startProductionWorker } from './shared/production-worker.js';
import { stepDurations, stepP50s, timelineOf } from './shared/step-durations.js';
import { percentile } from './shared/stats.js';

// --compliance off: without the checks the worker runs after each ready server (production runs them).
const { values: args } = parseArgs({ options: { compliance: { type: 'string', default: 'on' } } });
const COMPLIANCE = args.compliance !== 'off';
const SEQUENTIAL = 20;
const CONCURRENT = 20;
const round = (n: number) => Math.round(n);
const PORT_RANGE_START = 40_000;
const SIGNUPS_PER_IP = 100;

/** The admin logs in with the password the API reveals once, as the dashboard shows it. */
async function adminLogin(request: ApiRequest, server: ServerView, roots: string[]): Promise<XmppSession> {
  const credentials = await json<{ jid: string; password: string }>(await request('POST', `/servers/${server.id}/credentials/reveal`, {}), 'reveal the admin password');
  const port = server.connection?.ports.starttls;
  if (!port) throw new Error(`server ${server.id} is ready without connection details`);
  return connectAs({ host: EDGE(), port, domain: server.domain, username: credentials.jid.split('@')[0] ?? 'admin', password: credentials.password, trustedCaPems: roots, timeoutMs: 15_000 });
}

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

async function main(): Promise<void> {
  const production = loadWorkerConfig();
  // The harness gives the run its own database, Redis, node name and port range; its in-process
  // worker is never started: the worker below is the production entry point, as its own process.
  const harness = await ProvisioningHarness.create(PORT_RANGE_START, { turnTls: true });
  // 42 customers sign up from this one address: the per-address sign-up limit (20 an hour) is raised.
  const api = await startPlatformApi(harness, { configure: (config) => ({ ...config, rateLimits: { ...config.rateLimits, signupsPerIp: { max: SIGNUPS_PER_IP, windowSeconds: 3600 } } }) });
  const docker = new Docker({ socketPath: testEnv().DOCKER_SOCKET });
  /** Each server with the customer who ordered it, who deletes it at the end. */
  const servers: { id: string; request: ApiRequest }[] = [];
  let peer: XmppSession | undefined;
  let worker: PlatformProcess | undefined;
  try {
    worker = await startProductionWorker(harness, { compliance: COMPLIANCE });
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
    const steps: Record<string, number>[] = [];
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
      steps.push(stepDurations(await timelineOf(harness, ordered.id)));
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
    const memory = await Promise.all(ours.map((c) => serverFootprint(docker, c.Id, all, userlandProxy)));
    const mean = (pick: (m: ServerFootprint) => number) => memory.reduce((sum, m) => sum + pick(m), 0) / memory.length / MiB;
    const perServerMib = mean((m) => m.container + m.shim + m.proxies);

    const settings = {
      api: 'over HTTP (sign-up, token, POST /servers, GET /servers/{id} polled every 25 ms, credentials revealed)',
      ...productionSettings(production),
      COMPLIANCE_AFTER_READY: COMPLIANCE,
      TURN_PORT: TURN_PORT,
      TURN_TLS: Boolean(harness.config.calls?.tls?.dir),
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
      step_p50_ms: stepP50s(steps),
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
    await deleteThroughApi(harness, servers, 300_000);
    await worker?.stop();
    await api.close();
    await harness.close();
  }
}

main().catch((error: unknown) => {
  console.error(`bench:provision failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
