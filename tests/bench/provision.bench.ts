import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { PROVISION_STEPS } from '../../worker/src/contracts/provisioning.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { pebbleIssuers } from '../support/pebble.js';
import { testEnv } from '../support/test-env.js';
import { tryAllocation } from '../support/turn-client.js';
import { connectAs, nextMessage, sendMessage, sendPresence, type XmppSession } from '../support/xmpp.js';
import { prosodyCreateOrUpdateUser } from '../../worker/src/provisioning/prosody-accounts.js';
import { DockerContainerRuntime } from '../../worker/src/adapters/docker.container-runtime.js';
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

async function waitReady(harness: ProvisioningHarness, serverId: string): Promise<number> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const server = await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId }, select: { state: true, stateReason: true } });
    if (server.state === 'ready') return performance.now();
    if (server.state === 'failed') throw new Error(`server ${serverId} failed: ${server.stateReason ?? ''}`);
    if (Date.now() > deadline) throw new Error(`server ${serverId} not ready after 120 s (${server.state})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The node's address as `./parley up` publishes servers: the edge address, reachable from containers, so servers federate. */
const EDGE = () => testEnv().SANDBOX_EDGE_ADDRESS;
const TURN_PORT = 3478;

async function adminSession(harness: ProvisioningHarness, serverId: string, domain: string, roots: string[]): Promise<XmppSession> {
  const admin = await harness.adminPassword(serverId);
  const c2s = await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId, purpose: 'c2s' } });
  return connectAs({ host: EDGE(), port: c2s.port, domain, username: 'admin', password: admin.password, trustedCaPems: roots, timeoutMs: 15_000 });
}

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

/** The container's memory (cgroup usage less page cache) plus the RSS of its containerd shim. */
async function idleMemoryBytes(docker: Docker, containerId: string): Promise<number> {
  const stats = (await docker.getContainer(containerId).stats({ stream: false })) as {
    memory_stats: { usage?: number; stats?: { cache?: number; total_inactive_file?: number; inactive_file?: number } };
  };
  const { usage = 0, stats: detail = {} } = stats.memory_stats;
  const cgroup = usage - (detail.total_inactive_file ?? detail.inactive_file ?? detail.cache ?? 0);
  return cgroup + shimRss(containerId);
}

function shimRss(containerId: string): number {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes('containerd-shim') && cmdline.includes(containerId)) {
        const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        return Number(rss?.[1] ?? 0) * 1024;
      }
    } catch {
      // the process ended while we looked
    }
  }
  return 0;
}

async function main(): Promise<void> {
  // Published where containers reach each other (as ./parley up does), and the compliance checks
  // run after each ready server, as in production.
  const harness = await ProvisioningHarness.create(40_000, {
    // The node keeps coturn's TLS certificate, as in production (servers advertise turns: too).
    turnTls: true,
    configure: (c) => ({ ...c, docker: { ...c.docker, publicAddress: EDGE() }, jobs: { ...c.jobs, complianceAfterReady: COMPLIANCE } }),
  });
  const docker = new Docker({ socketPath: testEnv().DOCKER_SOCKET });
  const servers: string[] = [];
  let peer: XmppSession | undefined;
  try {
    await harness.startWorker();
    const roots = [(await pebbleIssuers()).root.toString()];

    // The other server every new one federates with, and its user who receives the messages.
    const other = await harness.placeOrder();
    servers.push(other.serverId);
    await harness.provision(other.serverId);
    await waitReady(harness, other.serverId);
    await prosodyCreateOrUpdateUser(new DockerContainerRuntime(docker), other.serverId, { username: 'peer', domain: other.domain, password: 'bench peer password' });
    const otherC2s = await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId: other.serverId, purpose: 'c2s' } });
    peer = await connectAs({ host: EDGE(), port: otherC2s.port, domain: other.domain, username: 'peer', password: 'bench peer password', trustedCaPems: roots, timeoutMs: 15_000 });
    await sendPresence(peer);

    const toReady: number[] = [];
    const toLogin: number[] = [];
    const toCallsAndFederation: number[] = [];
    const turnAllocation: number[] = [];
    const steps: Record<string, number[]> = {};
    for (let i = 0; i < SEQUENTIAL; i++) {
      const started = performance.now();
      const { serverId, domain } = await harness.placeOrder();
      servers.push(serverId);
      await harness.provision(serverId);
      toReady.push((await waitReady(harness, serverId)) - started);
      const session = await adminSession(harness, serverId, domain, roots);
      try {
        toLogin.push(performance.now() - started);
        // One relay allocation per new server, timed alone (coturn frees a released allocation's
        // quota only a moment later, so allocations in a row on one server would meet its cap).
        const { allocationMs } = await callsAndFederation(session, domain, peer);
        toCallsAndFederation.push(performance.now() - started);
        turnAllocation.push(allocationMs);
      } finally {
        await session.close();
      }
      for (const [step, ms] of Object.entries(await stepDurations(harness, serverId))) (steps[step] ??= []).push(ms);
    }

    const wallStart = performance.now();
    const batch = await Promise.all(Array.from({ length: CONCURRENT }, () => harness.placeOrder()));
    servers.push(...batch.map((b) => b.serverId));
    await Promise.all(batch.map((b) => harness.provision(b.serverId)));
    await Promise.all(batch.map((b) => waitReady(harness, b.serverId)));
    const concurrentWall = performance.now() - wallStart;

    await new Promise((r) => setTimeout(r, 5_000));
    const owned = await docker.listContainers({ filters: { label: ['parley.managed=true'] } });
    const ours = owned.filter((c) => servers.includes(c.Labels['parley.server'] ?? ''));
    const memory = await Promise.all(ours.map((c) => idleMemoryBytes(docker, c.Id)));
    const idleMib = memory.reduce((a, b) => a + b, 0) / memory.length / MiB;

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
      idle_mib_per_server: Math.round(idleMib * 10) / 10,
      settings: { node_address: EDGE(), turn_port: TURN_PORT, log_level: harness.config.logLevel, worker_concurrency: harness.config.jobs.concurrency, compliance_after_ready: COMPLIANCE, turn_tls_port: harness.config.calls?.tls?.port ?? null },
      step_p50_ms: Object.fromEntries(PROVISION_STEPS.map((s) => [s, round(percentile(steps[s] ?? [], 50))])),
    };

    console.log(`Provisioning benchmark (sandbox: Docker, PowerDNS, Pebble, coturn on this machine)`);
    console.log(`  settings: ${JSON.stringify(result.settings)}`);
    console.log(`  ${SEQUENTIAL} sequential orders   order → ready   p50 ${result.seq_p50_ms} ms   p95 ${result.seq_p95_ms} ms`);
    console.log(`                           order → login   p50 ${result.seq_login_p50_ms} ms   p95 ${result.seq_login_p95_ms} ms`);
    console.log(`         order → calls and federation work   p50 ${result.seq_calls_federation_p50_ms} ms   p95 ${result.seq_calls_federation_p95_ms} ms`);
    console.log(`  TURN relay allocation (XEP-0215 credentials, one per new server, ${result.turn_allocations})   p50 ${result.turn_allocation_p50_ms} ms`);
    console.log(`  ${CONCURRENT} concurrent orders   all ready in ${result.concurrent_wall_ms} ms`);
    console.log(`  idle memory per server   ${result.idle_mib_per_server} MiB (container + its containerd shim, ${memory.length} servers)`);
    console.log(`  where the time goes (p50 per step, sequential):`);
    for (const [step, ms] of Object.entries(result.step_p50_ms)) console.log(`    ${step.padEnd(14)} ${String(ms).padStart(6)} ms`);
    console.log(JSON.stringify(result));
  } finally {
    await peer?.close();
    for (const serverId of servers) await harness.deprovision(serverId);
    for (const serverId of servers) await harness.waitForState(serverId, 'deleted', 60_000).catch(() => undefined);
    await harness.close();
  }
}

main().catch((error: unknown) => {
  console.error(`bench:provision failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
