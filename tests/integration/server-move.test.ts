import { mkdtemp, rename, rm } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerContainerRuntime } from '../../worker/src/adapters/docker.container-runtime.js';
import { enqueueServerMove } from '../../worker/src/contracts/provisioning-flow.js';
import type { MoveSource } from '../../worker/src/contracts/provisioning.js';
import { prosodyCreateOrUpdateUser } from '../../worker/src/provisioning/prosody-accounts.js';
import { pebbleIssuers } from '../support/pebble.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { testEnv } from '../support/test-env.js';
import { tcpOpens } from '../support/tcp-open.js';
import { until } from '../support/until.js';
import { connectAs, joinRoom, makeRoomPersistent, sendGroupMessage, sendMessage, wholeArchive } from '../support/xmpp.js';

const BASE_PORT = 29_000;
const PASSWORD = { alice: 'alice: moving house', bob: 'bob: stays in touch' };
/** The second node: another loopback address on this machine, and a port range of its own. */
const NODE_B = { address: '127.0.0.2', portRangeStart: BASE_PORT + 400, portRangeEnd: BASE_PORT + 799 };

// One server moved twice, in order: each move starts where the one before left it.
describe('moving a server to another node: stopped, backed up, started there from the backup, DNS repointed', { shuffle: false }, () => {
  let harness: ProvisioningHarness;
  let repositoryDir: string;
  let serverId: string;
  let domain: string;
  let root: string;
  const docker = new Docker({ socketPath: testEnv().DOCKER_SOCKET });
  const runtime = new DockerContainerRuntime(docker);
  const resolver = new Resolver({ timeout: 2_000, tries: 2 });
  const queue = async () => (await harness.startWorker()).queue;
  const c2sPort = async () => (await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId, purpose: 'c2s' } })).port;
  const login = async (username: keyof typeof PASSWORD, host: string) =>
    connectAs({ host, port: await c2sPort(), domain, username, password: PASSWORD[username], trustedCaPems: [root], timeoutMs: 10_000, resource: `r${randomUUID().slice(0, 8)}` });
  const room = () => `lobby@conference.${domain}`;
  const node = (name: string, range: { portRangeStart: number; portRangeEnd: number }, publicAddress = NODE_B.address) =>
    harness.prisma.node.create({
      data: { name, hostname: `${name}.${harness.config.platformZone}`, publicAddress, dockerEndpoint: `unix://${harness.config.docker.socketPath}`, ...range },
    });
  /** Queues the move as the API does. */
  const requestMove = async (nodeId: string, from: MoveSource = 'running') => {
    const requestId = randomUUID();
    await enqueueServerMove(await queue(), { serverId, nodeId, requestId, from });
    return requestId;
  };
  /** The move's outcome on the timeline: its success, or its last failure. */
  const outcomeOf = (requestId: string) =>
    until(
      `move ${requestId}`,
      () => harness.prisma.provisioningEvent.findFirst({ where: { serverId, step: 'move', jobId: { contains: requestId }, OR: [{ status: 'succeeded' }, { status: 'failed', willRetry: false }] } }),
      180_000,
    );

  beforeAll(async () => {
    repositoryDir = join(await mkdtemp(join(tmpdir(), 'parley-server-move-')), 'repository');
    harness = await ProvisioningHarness.create(BASE_PORT, { configure: (config) => ({ ...config, backups: { ...config.backups, repository: repositoryDir } }) });
    resolver.setServers([harness.config.dnsResolver]);
    ({ serverId, domain } = await harness.placeOrder({ federation: true }));
    await harness.provision(serverId);
    await harness.waitForState(serverId, 'ready');
    root = (await pebbleIssuers()).root.toString();
    for (const username of ['alice', 'bob'] as const) await prosodyCreateOrUpdateUser(runtime, serverId, { username, domain, password: PASSWORD[username] });
  }, 180_000);

  afterAll(async () => {
    if (serverId) {
      await harness.deprovision(serverId);
      await harness.waitForState(serverId, 'deleted', 60_000);
    }
    await harness?.close();
    if (repositoryDir) await rm(join(repositoryDir, '..'), { recursive: true, force: true });
  });

  it('refuses a node without free ports before stopping anything: the server keeps running where it is', async () => {
    const full = await node(`test-${BASE_PORT}-full`, { portRangeStart: BASE_PORT + 800, portRangeEnd: BASE_PORT + 801 });
    const before = await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId }, include: { portAllocations: true } });
    const outcome = await outcomeOf(await requestMove(full.id));
    expect(outcome).toMatchObject({ status: 'failed', errorType: 'no_capacity', willRetry: false });
    const after = await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId }, include: { portAllocations: true } });
    expect(after.state).toBe('ready');
    expect(after.nodeId).toBe(before.nodeId);
    expect(after.portAllocations.map((a) => a.port).sort()).toEqual(before.portAllocations.map((a) => a.port).sort());
    expect(await harness.prisma.serverBackup.count({ where: { serverId, kind: 'move' } }), 'no backup taken for a move that could not happen').toBe(0);
    const alice = await login('alice', harness.config.docker.publicAddress);
    await alice.close();
  }, 120_000);

  it('moves with the accounts, the archive and the group chat history; clients find it through DNS at the new address', async () => {
    const alice = await login('alice', harness.config.docker.publicAddress);
    try {
      for (let i = 1; i <= 5; i++) await sendMessage(alice, `bob@${domain}`, `m${i}`);
      await joinRoom(alice, room(), 'alice');
      await makeRoomPersistent(alice, room());
      for (let i = 1; i <= 3; i++) await sendGroupMessage(alice, room(), `g${i}`);
    } finally {
      await alice.close();
    }
    const oldPort = await c2sPort();
    const target = await node(`test-${BASE_PORT}-b`, { portRangeStart: NODE_B.portRangeStart, portRangeEnd: NODE_B.portRangeEnd });

    // The repository cannot be reached at first: nothing stops, the attempt fails and is retried,
    // the server keeps answering where it is, and the move happens once the repository is back.
    const away = `${repositoryDir}.away`;
    await rename(repositoryDir, away);
    let requestId: string;
    try {
      requestId = await requestMove(target.id);
      const refused = await until('a refused attempt', () => harness.prisma.provisioningEvent.findFirst({ where: { serverId, step: 'move', status: 'failed', jobId: { contains: requestId } } }), 60_000);
      expect(refused).toMatchObject({ willRetry: true, errorType: 'backup_repository_unavailable' });
      expect(await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } })).toMatchObject({ state: 'ready', nodeId: (await harness.prisma.node.findUniqueOrThrow({ where: { name: harness.config.node.name } })).id });
      await (await login('alice', harness.config.docker.publicAddress)).close();
    } finally {
      await rename(away, repositoryDir);
    }
    const outcome = await outcomeOf(requestId);
    expect(outcome.status, outcome.message).toBe('succeeded');
    const failures = await harness.prisma.provisioningEvent.findMany({ where: { serverId, step: 'move', jobId: { contains: requestId }, status: 'failed' } });
    expect(new Set(failures.map((e) => e.errorType)), 'no attempt failed but for the repository').toEqual(new Set(['backup_repository_unavailable']));
    const detail = outcome.detail as { downtimeMs: number; fromNode: string; toNode: string };
    expect(detail).toMatchObject({ fromNode: harness.config.node.name, toNode: target.name });
    expect(detail.downtimeMs, 'the downtime is measured').toBeGreaterThan(0);

    const server = await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId }, include: { portAllocations: true } });
    expect(server).toMatchObject({ state: 'ready', nodeId: target.id });
    expect(server.portAllocations).toHaveLength(4);
    for (const allocation of server.portAllocations) {
      expect(allocation.nodeId).toBe(target.id);
      expect(allocation.port).toBeGreaterThanOrEqual(NODE_B.portRangeStart);
      expect(allocation.port).toBeLessThanOrEqual(NODE_B.portRangeEnd);
    }
    expect(await harness.prisma.serverBackup.findUniqueOrThrow({ where: { id: requestId } })).toMatchObject({ kind: 'move', status: 'succeeded' });
    const [container] = (await runtime.listOwned(serverId)).containers;
    expect(container?.state).toBe('running');
    expect(new Set(container?.ports.map((p) => p.hostIp))).toEqual(new Set([NODE_B.address]));

    // DNS: the new address and ports only; the old values are withdrawn from the zone.
    const newPort = await c2sPort();
    expect(await resolver.resolve4(domain)).toEqual([NODE_B.address]);
    expect(await resolver.resolve4(`conference.${domain}`)).toEqual([NODE_B.address]);
    expect((await resolver.resolveSrv(`_xmpp-client._tcp.${domain}`)).map((r) => r.port)).toEqual([newPort]);
    const s2s = server.portAllocations.find((a) => a.purpose === 's2s')?.port;
    expect((await resolver.resolveSrv(`_xmpp-server._tcp.${domain}`)).map((r) => r.port)).toEqual([s2s]);
    const live = await harness.prisma.dnsRecord.findMany({ where: { serverId, deletedAt: null, purpose: { not: 'acme_challenge' } } });
    expect(live.filter((r) => r.type === 'A').map((r) => r.value)).toEqual(live.filter((r) => r.type === 'A').map(() => NODE_B.address));
    expect(live.some((r) => r.type === 'SRV' && r.value.includes(` ${oldPort} `)), 'no record still names the old port').toBe(false);

    expect(await tcpOpens(harness.config.docker.publicAddress, oldPort), 'nothing answers at the old address any more').toBe(false);
    const moved = await login('alice', NODE_B.address);
    try {
      expect((await wholeArchive(moved)).filter((b) => b.startsWith('m'))).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
      await joinRoom(moved, room(), 'alice');
      expect((await wholeArchive(moved, { archive: room() })).filter((b) => b.startsWith('g'))).toEqual(['g1', 'g2', 'g3']);
    } finally {
      await moved.close();
    }
    const bob = await login('bob', NODE_B.address);
    await bob.close();

    // The customer sees the move on the timeline: started, then done with the downtime.
    const events = await harness.prisma.provisioningEvent.findMany({ where: { serverId, step: 'move', jobId: { contains: requestId } }, orderBy: { id: 'asc' } });
    expect(events.map((e) => e.status).slice(-2)).toEqual(['started', 'succeeded']);

    // Self-healing follows the server to its new node: killed there, it is repaired there.
    const before = (await runtime.listOwned(serverId)).containers[0]?.id ?? '';
    await docker.getContainer(before).kill();
    await until('the moved server repaired', async () => {
      const [again] = (await runtime.listOwned(serverId)).containers;
      return again?.state === 'running' && (await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } })).health === 'ok' ? again : null;
    }, 90_000);
    const repaired = await login('alice', NODE_B.address);
    await repaired.close();
  }, 300_000);

  it('moves again to a node that shares the port range: the ports and SRV records stay, only the address changes', async () => {
    const ports = async () => Object.fromEntries((await harness.prisma.portAllocation.findMany({ where: { serverId } })).map((a) => [a.purpose, a.port]));
    const before = await ports();
    const third = await node(`test-${BASE_PORT}-c`, { portRangeStart: NODE_B.portRangeStart, portRangeEnd: NODE_B.portRangeEnd }, '127.0.0.3');
    const outcome = await outcomeOf(await requestMove(third.id));
    expect(outcome.status, outcome.message).toBe('succeeded');
    expect(await ports(), 'upload links in the archive name the HTTPS port: it is kept').toEqual(before);
    expect(await resolver.resolve4(domain)).toEqual(['127.0.0.3']);
    expect((await resolver.resolveSrv(`_xmpp-client._tcp.${domain}`)).map((r) => r.port)).toEqual([before.c2s]);
    expect(await tcpOpens(NODE_B.address, before.c2s ?? 0), 'the old address answers no more').toBe(false);
    const alice = await login('alice', '127.0.0.3');
    try {
      expect((await wholeArchive(alice)).filter((b) => b.startsWith('m'))).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    } finally {
      await alice.close();
    }
  }, 180_000);

  it('its node lost: started on another node from its newest backup, nothing taken from the old one, what came after that backup named as not restored', async () => {
    const alice = await login('alice', '127.0.0.3');
    try {
      await sendMessage(alice, `bob@${domain}`, 'm6 after the last backup');
    } finally {
      await alice.close();
    }
    const newest = await harness.prisma.serverBackup.findFirstOrThrow({ where: { serverId, status: 'succeeded' }, orderBy: { startedAt: 'desc' } });
    const backups = await harness.prisma.serverBackup.count({ where: { serverId } });
    const nodeB = await harness.prisma.node.findUniqueOrThrow({ where: { name: `test-${BASE_PORT}-b` } });
    // One engine runs every node here, so the old node's container is replaced rather than left
    // on a machine that is gone; the worker never stops it or reads its data first.
    const outcome = await outcomeOf(await requestMove(nodeB.id, 'latest_backup'));
    expect(outcome.status, outcome.message).toBe('succeeded');
    expect(outcome.detail).toMatchObject({ fromNode: `test-${BASE_PORT}-c`, toNode: nodeB.name, restoredBackupId: newest.id, backupTakenAt: (newest.startedAt ?? newest.requestedAt).toISOString() });
    expect(outcome.message).toContain('changes after it are not in it');
    expect(await harness.prisma.serverBackup.count({ where: { serverId } }), 'no backup taken of a node that is lost').toBe(backups);
    expect(await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } })).toMatchObject({ state: 'ready', nodeId: nodeB.id });
    expect(await resolver.resolve4(domain)).toEqual([NODE_B.address]);
    const back = await login('alice', NODE_B.address);
    try {
      const archived = await wholeArchive(back);
      expect(archived.filter((b) => b.startsWith('m'))).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    } finally {
      await back.close();
    }
  }, 180_000);
});
