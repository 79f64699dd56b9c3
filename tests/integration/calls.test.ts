import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { promisify } from 'node:util';
import { xml } from '@xmpp/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { turnSecretContext } from '../../worker/src/contracts/secret-contexts.js';
import { enqueueTurnRotation } from '../../worker/src/contracts/provisioning-flow.js';
import { turnHostname } from '../../worker/src/contracts/node-names.js';
import { RECONCILE_JOB } from '../../worker/src/contracts/provisioning.js';
import { loadWorkerConfig } from '../../worker/src/config.js';
import { pebbleIssuers } from '../support/pebble.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { testEnv } from '../support/test-env.js';
import { TurnClient, tryAllocation, turnRestCredentials } from '../support/turn-client.js';
import { until } from '../support/until.js';
import { connectAs } from '../support/xmpp.js';

const run = promisify(execFile);
const TURN_PORT = 3478;
/** The relay address ensure_coturn gives coturn (infra/bootstrap/services.sh, TURN_RELAY_ADDRESS). */
const RELAY_ADDRESS = '10.213.0.2';

/** The certificate a TLS server presents, and whether it verifies for `servername` against `ca`. */
async function tlsPeer(host: string, port: number, servername: string, ca: string): Promise<{ authorized: boolean; error: string | null; certificate: PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host, port, servername, ca, rejectUnauthorized: false, timeout: 10_000 }, () => {
      resolve({ authorized: socket.authorized, error: socket.authorizationError?.message ?? null, certificate: socket.getPeerCertificate() });
      socket.end();
    });
    socket.on('error', reject);
    socket.on('timeout', () => socket.destroy(new Error(`no TLS handshake from ${host}:${port}`)));
  });
}

/** A `<service/>` entry's attributes (type, transport, host, port, username, password, expires). */
type Service = Record<string, string | undefined>;

/** The coturn configuration setup.sh wrote: the quota the node really runs with. */
async function coturnUserQuota(): Promise<number> {
  const conf = await readFile(`${testEnv().PARLEY_STATE_DIR}/coturn/turnserver.conf`, 'utf8');
  const quota = /^user-quota=(\d+)$/m.exec(conf)?.[1];
  if (!quota) throw new Error('no user-quota in coturn’s configuration');
  return Number(quota);
}

describe('calls: each server advertises the node’s coturn (XEP-0215) with credentials from its own secret', () => {
  let harness: ProvisioningHarness;
  let root: string;
  const edge = testEnv().SANDBOX_EDGE_ADDRESS;
  const turn = { host: edge, port: TURN_PORT };
  // TURN over TLS as setup.sh configures coturn: this test's worker keeps its certificate.
  const turnTls = loadWorkerConfig().calls?.tls ?? null;
  let turnHost: string;
  let nodeId: string;
  const servers: { serverId: string; domain: string }[] = [];
  const deleted = new Set<string>();

  /** The services the server hands its logged-in admin (a real client over STARTTLS). */
  async function externalServices(server: { serverId: string; domain: string }): Promise<Service[]> {
    const { password } = await harness.adminPassword(server.serverId);
    const port = (await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId: server.serverId, purpose: 'c2s' } })).port;
    const session = await connectAs({ host: edge, port, domain: server.domain, username: 'admin', password, trustedCaPems: [root], timeoutMs: 10_000 });
    try {
      const answer = await session.xmpp.iqCaller.request(xml('iq', { type: 'get', to: server.domain }, xml('services', { xmlns: 'urn:xmpp:extdisco:2' })), 10_000);
      return (answer.getChild('services', 'urn:xmpp:extdisco:2')?.getChildren('service') ?? []).map((s): Service => s.attrs);
    } finally {
      await session.close();
    }
  }

  const turnCredentials = async (server: { serverId: string; domain: string }) => {
    const entry = (await externalServices(server)).find((s) => s.type === 'turn' && s.transport === 'udp');
    if (!entry?.username || !entry.password) throw new Error('no TURN credentials advertised');
    return { username: entry.username, password: entry.password };
  };

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(25_000, { turnTls: true, configure: (c) => ({ ...c, docker: { ...c.docker, publicAddress: edge } }) });
    turnHost = turnHostname(harness.config.node.hostname);
    root = (await pebbleIssuers()).root.toString();
    // Four, so tests can run in any order: [0] for reading, [1] has its secret replaced, [2] is
    // held at its allocation quota, [3] is deleted.
    for (let i = 0; i < 4; i++) servers.push(await harness.placeOrder({ federation: false }));
    for (const { serverId } of servers) await harness.provision(serverId);
    await Promise.all(servers.map(({ serverId }) => harness.waitForState(serverId, 'ready', 180_000)));
    nodeId = (await harness.prisma.node.findUniqueOrThrow({ where: { name: harness.config.node.name } })).id;
  }, 240_000);

  afterAll(async () => {
    for (const { serverId } of servers) if (!deleted.has(serverId)) await harness.deprovision(serverId);
    for (const { serverId } of servers) if (!deleted.has(serverId)) await harness.waitForState(serverId, 'deleted', 60_000);
    await harness?.close();
  }, 120_000);

  it('is configured from the environment (TURN_SECRETS_DATABASE_URL, TURN_TLS_DIR, written by setup.sh)', () => {
    expect(harness.config.calls).toBeDefined();
    expect(turnTls).not.toBeNull();
    expect(harness.config.calls?.tls).toEqual(turnTls);
  });

  it('hands a logged-in user STUN and TURN over UDP, TCP and TLS, TURN with expiring credentials for this server', async () => {
    const [server] = servers;
    if (!server) throw new Error('no server');
    const before = Date.now();
    const services = await externalServices(server);
    expect(services.map((s) => `${s.type}/${s.transport}@${s.host}:${s.port}`).sort()).toEqual(
      [
        `stun/tcp@${edge}:${TURN_PORT}`,
        `stun/udp@${edge}:${TURN_PORT}`,
        `turn/tcp@${edge}:${TURN_PORT}`,
        `turn/udp@${edge}:${TURN_PORT}`,
        `turns/tcp@${turnHost}:${turnTls?.port}`,
      ].sort(),
    );
    for (const s of services.filter((x) => x.type === 'stun')) expect(s.username).toBeUndefined();
    const ttlMs = (harness.config.calls?.credentialTtlSeconds ?? 0) * 1000;
    for (const s of services.filter((x) => x.type !== 'stun')) {
      expect(s.username).toMatch(new RegExp(`^\\d+:${server.serverId}$`));
      expect(s.password).toMatch(/^[A-Za-z0-9+/]{27}=$/);
      const expires = Date.parse(s.expires ?? '');
      expect(expires).toBeGreaterThan(before + ttlMs - 60_000);
      expect(expires).toBeLessThan(Date.now() + ttlMs + 60_000);
    }
  });

  // A server of its own: turnutils_uclient may leave an allocation behind until its lifetime ends.
  it('caps each server at the per-user quota (486) while another server still allocates', async () => {
    const [second, , first] = servers;
    if (!first || !second) throw new Error('no servers');
    const quota = await coturnUserQuota();
    const credentials = await turnCredentials(first);
    const clients: TurnClient[] = [];
    try {
      for (let i = 0; i < quota; i++) {
        const client = new TurnClient(turn, credentials);
        clients.push(client);
        expect({ i, answer: await client.allocate() }).toEqual({ i, answer: { ok: true } });
      }
      const over = new TurnClient(turn, credentials);
      clients.push(over);
      expect(await over.allocate()).toMatchObject({ ok: false, code: 486 });
      expect(await tryAllocation(turn, await turnCredentials(second))).toEqual({ ok: true });
    } finally {
      for (const client of clients) {
        await client.release();
        client.close();
      }
    }
    // Released (coturn frees a session's quota a moment after its allocation ends): the server allocates again.
    await until('an allocation after the release', async () => ((await tryAllocation(turn, credentials)).ok ? true : null), 30_000, 500);
  }, 45_000);

  it('relays data between two clients with the advertised credentials (turnutils_uclient, client to client)', async () => {
    const [server] = servers;
    if (!server) throw new Error('no server');
    const { username, password } = await turnCredentials(server);
    const { stdout, stderr } = await run('turnutils_uclient', ['-p', String(TURN_PORT), '-u', username, '-w', password, '-y', '-n', '5', '-c', '-v', '-L', edge, edge], { timeout: 30_000 });
    const output = stdout + stderr;
    expect(output).toContain(`Received relay addr: ${RELAY_ADDRESS}:`);
    expect(output).toMatch(/tot_send_msgs=\d+, tot_recv_msgs=\d+/);
    const totals = /start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/.exec(output);
    expect(Number(totals?.[1])).toBeGreaterThan(0);
    expect(totals?.[2]).toBe(totals?.[1]);
    expect(output).toContain('Total lost packets 0 (0.000000%)');
  }, 40_000);

  it('refuses a wrong password and an expired credential made with the right secret (401)', async () => {
    const [server] = servers;
    if (!server) throw new Error('no server');
    const good = await turnCredentials(server);
    expect(await tryAllocation(turn, good)).toEqual({ ok: true });
    // Another first character: a wrong password for certain (replacing the last character before
    // the padding with a fixed one was the right password once in 16).
    const wrong = `${good.password.startsWith('A') ? 'B' : 'A'}${good.password.slice(1)}`;
    expect(wrong).not.toBe(good.password);
    expect(await tryAllocation(turn, { ...good, password: wrong })).toMatchObject({ ok: false, code: 401 });
    const row = await harness.prisma.turnSecret.findFirstOrThrow({ where: { serverId: server.serverId }, orderBy: { version: 'desc' }, include: { secret: true } });
    const secret = harness.secrets.open(row.secret, turnSecretContext(server.serverId));
    expect(await tryAllocation(turn, turnRestCredentials(secret, server.serverId, new Date(Date.now() + 600_000)))).toEqual({ ok: true });
    expect(await tryAllocation(turn, turnRestCredentials(secret, server.serverId, new Date(Date.now() - 60_000)))).toMatchObject({ ok: false, code: 401 });
  });

  it('relays to no private address: loopback, the node’s services, cloud metadata (403); to the relay address and public peers yes', async () => {
    const [server] = servers;
    if (!server) throw new Error('no server');
    const client = new TurnClient(turn, await turnCredentials(server));
    try {
      expect(await client.allocate()).toEqual({ ok: true });
      expect(client.relayedAddress?.startsWith(`${RELAY_ADDRESS}:`)).toBe(true);
      // A permission only: nothing is sent to these peers.
      for (const peer of ['127.0.0.1', edge, '10.213.0.130', '169.254.169.254', '172.17.0.1', '192.168.1.1', '100.64.0.1', '0.0.0.0']) {
        expect({ peer, answer: await client.createPermission(peer) }).toMatchObject({ peer, answer: { ok: false, code: 403 } });
      }
      expect(await client.createPermission(RELAY_ADDRESS)).toEqual({ ok: true });
      expect(await client.createPermission('8.8.8.8')).toEqual({ ok: true });
    } finally {
      await client.release();
      client.close();
    }
  });

  it('replaces a server’s secret without a restart: the old credentials are refused, new ones from XEP-0215 work', async () => {
    const server = servers[1];
    if (!server) throw new Error('no server');
    const containerBefore = (await harness.prisma.server.findUniqueOrThrow({ where: { id: server.serverId } })).containerId;
    const old = await turnCredentials(server);
    expect(await tryAllocation(turn, old)).toEqual({ ok: true });
    // As POST /servers/{id}/calls/secret/rotate queues it.
    await enqueueTurnRotation((await harness.startWorker()).queue, { serverId: server.serverId, version: 2 });
    await until('the rotation', async () => ((await harness.prisma.provisioningEvent.count({ where: { serverId: server.serverId, step: 'turn_rotation', status: 'succeeded' } })) > 0 ? true : null), 60_000);
    expect(await tryAllocation(turn, old)).toMatchObject({ ok: false, code: 401 });
    const fresh = await turnCredentials(server);
    expect(fresh.password).not.toBe(old.password);
    expect(await tryAllocation(turn, fresh)).toEqual({ ok: true });
    const rows = await harness.prisma.turnSecret.findMany({ where: { serverId: server.serverId }, include: { secret: true }, orderBy: { version: 'asc' } });
    // The old version is wiped at rest too; only the new one can still be opened.
    expect(rows.map((r) => [r.version, r.secret.destroyedAt !== null])).toEqual([
      [1, true],
      [2, false],
    ]);
    expect((await harness.prisma.server.findUniqueOrThrow({ where: { id: server.serverId } })).containerId).toBe(containerBefore);
  });

  it('refuses a deleted server’s credentials at once, unexpired as they are; the other server’s still work', async () => {
    const [second, , , first] = servers;
    if (!first || !second) throw new Error('no servers');
    const credentials = await turnCredentials(first);
    const others = await turnCredentials(second);
    expect(await tryAllocation(turn, credentials)).toEqual({ ok: true });
    await harness.deprovision(first.serverId);
    await harness.waitForState(first.serverId, 'deleted', 60_000);
    deleted.add(first.serverId);
    expect(await tryAllocation(turn, credentials)).toMatchObject({ ok: false, code: 401 });
    expect(await tryAllocation(turn, others)).toEqual({ ok: true });
    const secrets = await harness.prisma.turnSecret.findMany({ where: { serverId: first.serverId }, include: { secret: true } });
    expect(secrets.length).toBeGreaterThan(0);
    for (const row of secrets) expect(row.secret.destroyedAt).not.toBeNull();
  }, 90_000);

  it('serves TURN over TLS with a certificate for turn.<node> from the platform’s CA, a name that resolves to the node', async () => {
    const row = await until('the TURN certificate', () => harness.prisma.nodeCertificate.findFirst({ where: { nodeId }, orderBy: { createdAt: 'desc' } }), 60_000);
    expect(row.names).toEqual([turnHost]);
    const peer = await until('coturn serving it', async () => {
      const seen = await tlsPeer(edge, turnTls?.port ?? 0, turnHost, root);
      return seen.certificate.serialNumber.toLowerCase() === row.serial.toLowerCase() ? seen : null;
    }, 15_000, 250);
    expect({ authorized: peer.authorized, error: peer.error }).toEqual({ authorized: true, error: null });
    expect(peer.certificate.subjectaltname).toBe(`DNS:${turnHost}`);
    const resolver = new Resolver();
    resolver.setServers([testEnv().DNS_RESOLVER]);
    expect(await resolver.resolve4(turnHost)).toEqual([edge]);
    // One order, the platform's own: it counts against the platform's budget and no customer's.
    expect(await harness.prisma.acmeOrder.findMany({ where: { names: { has: turnHost } }, select: { serverId: true, accountId: true } })).toEqual([{ serverId: null, accountId: null }]);
    // The node's record is no orphan: a reconcile pass, which removes records of servers gone, keeps it.
    const job = await (await harness.startWorker()).queue.add(RECONCILE_JOB, {}, { jobId: `pass-${randomUUID()}` });
    await until('the reconcile pass', async () => ((await job.isCompleted()) || (await job.isFailed()) ? true : null), 60_000);
    expect(await job.isCompleted()).toBe(true);
    expect(await resolver.resolve4(turnHost)).toEqual([edge]);
  }, 90_000);

  it('allocates a relay over TLS, certificate verified, with the turns credentials from XEP-0215', async () => {
    const server = servers[1];
    if (!server) throw new Error('no server');
    const entry = (await externalServices(server)).find((s) => s.type === 'turns');
    if (!entry?.username || !entry.password || entry.host !== turnHost) throw new Error('no turns credentials advertised');
    // What an app does with the entry: resolve the host, connect with TLS, verify the name.
    const resolver = new Resolver();
    resolver.setServers([testEnv().DNS_RESOLVER]);
    const [address] = await resolver.resolve4(entry.host);
    if (!address) throw new Error(`${entry.host} does not resolve`);
    const tls = { kind: 'tls' as const, servername: entry.host, ca: root };
    const client = new TurnClient({ host: address, port: Number(entry.port) }, { username: entry.username, password: entry.password }, 5_000, tls);
    try {
      expect(await client.allocate()).toEqual({ ok: true });
      expect(client.relayedAddress?.startsWith(`${RELAY_ADDRESS}:`)).toBe(true);
      expect(await client.createPermission('127.0.0.1')).toMatchObject({ ok: false, code: 403 });
    } finally {
      await client.release();
      client.close();
    }
    expect(await tryAllocation({ host: address, port: Number(entry.port) }, { username: entry.username, password: `${entry.password.startsWith('A') ? 'B' : 'A'}${entry.password.slice(1)}` }, tls)).toMatchObject({ ok: false, code: 401 });
    // A client that checks the name refuses any other: the certificate is the TURN host's only.
    await expect(tryAllocation({ host: address, port: Number(entry.port) }, { username: entry.username, password: entry.password }, { ...tls, servername: `x.${entry.host}` })).rejects.toThrow(/altnames|Hostname/i);
  }, 60_000);

  it('renews the TURN certificate once it is due, and coturn serves the new one without a restart', async () => {
    const before = await harness.prisma.nodeCertificate.findFirstOrThrow({ where: { nodeId }, orderBy: { createdAt: 'desc' } });
    const coturnPid = (await readFile(turnTls?.pidFile ?? '', 'utf8')).trim();
    await harness.prisma.nodeCertificate.update({ where: { id: before.id }, data: { renewAfter: new Date(Date.now() - 1000) } });
    // The worker looks at the certificate when it starts and then at the renewal scan's interval.
    await harness.restartWorker();
    const renewed = await until('the renewal', () => harness.prisma.nodeCertificate.findFirst({ where: { nodeId, id: { not: before.id } } }), 60_000);
    expect(renewed.serial).not.toBe(before.serial);
    await until('coturn serving the renewed certificate', async () => {
      const seen = await tlsPeer(edge, turnTls?.port ?? 0, turnHost, root);
      return seen.authorized && seen.certificate.serialNumber.toLowerCase() === renewed.serial.toLowerCase() ? true : null;
    }, 15_000, 250);
    expect((await readFile(turnTls?.pidFile ?? '', 'utf8')).trim()).toBe(coturnPid);
    expect(await harness.prisma.nodeCertificate.count({ where: { nodeId } })).toBe(2);
  }, 120_000);
});
