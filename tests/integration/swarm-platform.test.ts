import { randomUUID } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SwarmContainerRuntime } from '../../worker/src/adapters/swarm.container-runtime.js';
import { socketPathOf } from '../../worker/src/adapters/node-engines.js';
import { createContainers } from '../../worker/src/adapters.js';
import { enqueueServerBackup } from '../../worker/src/contracts/provisioning-flow.js';
import { addNode, NodeAdminError, removeNode, type NodeAdminDeps } from '../../worker/src/nodes/node-admin.js';
import { DnsLedger } from '../../worker/src/provisioning/dns-ledger.js';
import { registeredNodes } from '../../worker/src/provisioning/node-registry.js';
import { prosodyCreateOrUpdateUser } from '../../worker/src/provisioning/prosody-accounts.js';
import { pebbleIssuers } from '../support/pebble.js';
import { signUpOperator, startPlatformApi, type ApiRequest, type ListeningApi } from '../support/platform-api.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { execIn, SwarmCluster } from '../support/swarm-cluster.js';
import { tearDownAll } from '../support/tear-down.js';
import { nodeAgentImage, swarmNodeImage, testEnv } from '../support/test-env.js';
import { until } from '../support/until.js';
import { connectAs, sendMessage, wholeArchive } from '../support/xmpp.js';

// The platform on a real three-node Docker Swarm (Docker-in-Docker nodes on a network of the
// test's own): the worker runs with CONTAINER_RUNTIME=swarm against the manager, nodes are added
// the way `./parley node add` adds them (joining the Swarm), servers are placed by capacity,
// drained through the API, and restored from their backups when their node dies.

const BASE_PORT = 23_700;
const PASSWORD = 'alice: on a swarm';
/** How long a node may be down before its servers are restored elsewhere (production: 30 min). */
const RESTORE_AFTER_MS = 4_000;

interface Placed {
  serverId: string;
  domain: string;
}

describe('the platform on a three-node Docker Swarm', { shuffle: false }, () => {
  const host = new Docker({ socketPath: testEnv().DOCKER_SOCKET });
  const resolver = new Resolver({ timeout: 2_000, tries: 2 });
  let cluster: SwarmCluster;
  let harness: ProvisioningHarness;
  let api: ListeningApi;
  let operator: ApiRequest;
  let runtime: SwarmContainerRuntime;
  let admin: NodeAdminDeps;
  let repositoryDir = '';
  let root = '';
  const servers: Placed[] = [];
  const names = { a: `test-${BASE_PORT}`, b: `test-${BASE_PORT}-b`, c: `test-${BASE_PORT}-c` };
  const clusterNode = { [names.a]: 'n1', [names.b]: 'n2', [names.c]: 'n3' } as Record<string, string>;

  const nodeOf = async (server: Placed) => (await harness.prisma.server.findUniqueOrThrow({ where: { id: server.serverId }, include: { node: true } })).node;
  const login = async (server: Placed) => {
    const node = await nodeOf(server);
    const { port } = await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId: server.serverId, purpose: 'c2s' } });
    return connectAs({ host: node?.publicAddress ?? '', port, domain: server.domain, username: 'alice', password: PASSWORD, trustedCaPems: [root], timeoutMs: 10_000, resource: `r${randomUUID().slice(0, 8)}` });
  };
  /** alice logs in where the server's node is, its DNS names that node, and her archive holds `body`. */
  const findsHistory = async (server: Placed, body: string) => {
    const node = await nodeOf(server);
    expect(await resolver.resolve4(server.domain)).toEqual([node?.publicAddress]);
    const alice = await until(`alice on ${server.domain}`, () => login(server).catch(() => null), 30_000, 500);
    try {
      expect(await wholeArchive(alice)).toContain(body);
    } finally {
      await alice.close();
    }
  };
  const add = (name: string, capacity: { maxServers: number | null }) => {
    const node = cluster.node(clusterNode[name] ?? '');
    return addNode(admin, { name, publicAddress: node.ip, dockerEndpoint: `unix://${node.socketPath}`, portRangeStart: BASE_PORT, portRangeEnd: BASE_PORT + 399, maxServers: capacity.maxServers, memoryMiB: null });
  };
  /** The filter table's rules in a node's own iptables (through the host's engine, as root there). */
  const iptablesOf = async (clusterName: string): Promise<string[]> => (await execIn(host, cluster.node(clusterName).container, ['iptables', '-S'])).stdout.split('\n');
  const servicesOn = async (clusterName: string) =>
    (await cluster.node(clusterName).docker.listContainers({ filters: { label: ['parley.managed=true'], status: ['running'] } })).map((c) => c.Labels['parley.server']);

  beforeAll(async () => {
    repositoryDir = join(await mkdtemp(join(tmpdir(), 'parley-swarm-platform-')), 'repository');
    // Only the manager forms the Swarm: the other two join through `node add`. Swarm's default
    // heartbeat (5 s): a shorter one marks busy nodes down now and then on a loaded machine.
    cluster = await SwarmCluster.start({
      host,
      nodeImage: swarmNodeImage(),
      nodes: 3,
      // On the manager only, where ./parley builds them: the platform copies them to the others.
      images: [testEnv().PROSODY_IMAGE, nodeAgentImage()],
      imagesOnManagerOnly: true,
      dockerdArgs: ['--no-new-privileges', '--icc=false'],
      joinWorkers: false,
      heartbeatSeconds: 5,
    });
    const manager = cluster.node('n1');
    harness = await ProvisioningHarness.create(BASE_PORT, {
      configure: (config) => ({
        ...config,
        docker: { ...config.docker, runtime: 'swarm', socketPath: manager.socketPath, publicAddress: manager.ip, agentImage: nodeAgentImage() },
        backups: { ...config.backups, repository: repositoryDir },
        // Production looks every 30 s; a test need not wait that long to see a node down.
        jobs: { ...config.jobs, reconcileIntervalMs: 2_000, nodeLossRestoreAfterMs: RESTORE_AFTER_MS },
      }),
    });
    resolver.setServers([harness.config.dnsResolver]);
    root = (await pebbleIssuers()).root.toString();
    // The runtime and the node firewalls as the worker and `./parley node` make them.
    const { containers, nodeFirewalls } = createContainers(harness.config, () => registeredNodes(harness.prisma));
    runtime = containers as SwarmContainerRuntime;
    if (!nodeFirewalls) throw new Error('a Swarm runtime comes with its node firewalls');
    admin = {
      prisma: harness.prisma,
      manager: manager.docker,
      engineAt: (endpoint) => new Docker({ socketPath: socketPathOf(endpoint), timeout: 60_000 }),
      ledger: new DnsLedger(harness.prisma, harness.dns, harness.config.platformZone),
      platformZone: harness.config.platformZone,
      joinTimeoutMs: 60_000,
      firewalls: { keeper: nodeFirewalls, downNodes: () => containers.downNodes() },
    };
    api = await startPlatformApi(harness);
    operator = await signUpOperator(api.url, harness.prisma);
  }, 240_000);

  afterAll(async () => {
    await tearDownAll([
      async () => {
        if (!harness) return;
        for (const server of servers) await harness.deprovision(server.serverId);
        await Promise.all(servers.map((server) => harness.waitForState(server.serverId, 'deleted', 120_000)));
      },
      () => api?.close(),
      () => harness?.close(),
      () => cluster?.close(),
      () => (repositoryDir ? rm(join(repositoryDir, '..'), { recursive: true, force: true }) : Promise.resolve()),
    ]);
  }, 240_000);

  it('adds nodes as `./parley node add` does: the two outside the Swarm join it, each labelled, with its capacity', async () => {
    const a = await add(names.a, { maxServers: 1 });
    expect(a).toMatchObject({ name: names.a, joined: false, swarmNodeId: cluster.node('n1').id });
    const joined = [];
    for (const name of [names.b, names.c]) joined.push(await add(name, { maxServers: null }));
    expect(joined).toEqual([expect.objectContaining({ name: names.b, joined: true }), expect.objectContaining({ name: names.c, joined: true })]);
    // Again: nothing changes, nothing joins twice.
    expect(await add(names.b, { maxServers: null })).toMatchObject({ joined: false });
    const listed = (await cluster.node('n1').docker.listNodes()) as { Spec: { Labels?: Record<string, string> }; Status: { State: string } }[];
    expect(listed.map((n) => [n.Spec.Labels?.['parley.node'], n.Status.State]).sort()).toEqual([
      [names.a, 'ready'],
      [names.b, 'ready'],
      [names.c, 'ready'],
    ]);
    // One machine is one node: the same engine under a second name is refused, and nothing changes.
    const again = addNode(admin, { name: 'other', publicAddress: cluster.node('n3').ip, dockerEndpoint: `unix://${cluster.node('n3').socketPath}`, portRangeStart: BASE_PORT, portRangeEnd: BASE_PORT + 399, maxServers: null, memoryMiB: null });
    await expect(again).rejects.toBeInstanceOf(NodeAdminError);
    await expect(again).rejects.toMatchObject({ type: 'name_taken' });
    expect(await harness.prisma.node.findUnique({ where: { name: 'other' } }), 'a refused add registers nothing').toBeNull();
    const n3 = (await cluster.node('n1').docker.getNode(joined[1]?.swarmNodeId ?? '-').inspect()) as { Spec: { Labels?: Record<string, string> } };
    expect(n3.Spec.Labels?.['parley.node']).toBe(names.c);
    // The node agent was copied from the manager to run there.
    for (const name of ['n2', 'n3']) expect((await cluster.node(name).docker.getImage(nodeAgentImage()).inspect()).RepoTags).toContain(nodeAgentImage());
    // Each node is confined before it takes a server: its tenant chain hooked once, naming the
    // other two nodes as peers (their published ports only).
    for (const name of ['n1', 'n2', 'n3']) {
      const rules = await iptablesOf(name);
      expect(rules.filter((l) => l === '-A DOCKER-USER -i docker0 -j PARLEY-TENANT-OUT')).toHaveLength(1);
      const peers = cluster.nodes.filter((n) => n.name !== name).map((n) => `-A PARLEY-TENANT-OUT -d ${n.ip}/32 -p tcp -m tcp --dport ${BASE_PORT}:${BASE_PORT + 399} -j RETURN`);
      expect(rules).toEqual(expect.arrayContaining(peers));
    }
  }, 120_000);

  it('places servers across the nodes by capacity, each a service on its node that a client logs in to', async () => {
    for (let i = 0; i < 4; i++) servers.push(await harness.placeOrder());
    // Placed at once (the reconciler queues orders nobody queued, too): a capacity holds anyway.
    await Promise.all(servers.map((server) => harness.provision(server.serverId)));
    await Promise.all(servers.map((server) => harness.waitForState(server.serverId, 'ready', 180_000)));
    const placed = await Promise.all(servers.map(async (s) => (await nodeOf(s))?.name ?? ''));
    // a holds one at most; the other three spread over b and c.
    expect(Object.fromEntries(Object.values(names).map((name) => [name, placed.filter((p) => p === name).length]))).toEqual({ [names.a]: 1, [names.b]: 2, [names.c]: 1 });
    for (const [i, server] of servers.entries()) {
      expect(await servicesOn(clusterNode[placed[i] ?? ''] ?? '')).toContain(server.serverId);
      await prosodyCreateOrUpdateUser(runtime, server.serverId, { username: 'alice', domain: server.domain, password: PASSWORD });
      const alice = await login(server);
      try {
        await sendMessage(alice, `bob@${server.domain}`, `first words on ${server.domain}`);
      } finally {
        await alice.close();
      }
      await findsHistory(server, `first words on ${server.domain}`);
    }
  }, 600_000);

  it('drains a node through the API: its servers move one at a time to another node and clients log in there', async () => {
    const b = await harness.prisma.node.findUniqueOrThrow({ where: { name: names.b } });
    const onB: Placed[] = [];
    for (const server of servers) if ((await nodeOf(server))?.name === names.b) onB.push(server);
    expect(onB).toHaveLength(2);
    const response = await operator('POST', `/operator/nodes/${b.id}/drain`);
    expect(response.status, await response.text()).toBe(202);
    await until(
      'node b empty',
      async () => {
        const moved = await harness.prisma.provisioningEvent.count({ where: { serverId: { in: onB.map((s) => s.serverId) }, step: 'move', status: 'succeeded' } });
        return moved === onB.length && (await harness.prisma.server.count({ where: { nodeId: b.id, deletedAt: null } })) === 0 ? true : null;
      },
      300_000,
      1_000,
    );
    for (const server of onB) {
      // a is full and b draining: c is where they can go.
      expect((await nodeOf(server))?.name).toBe(names.c);
      expect(await servicesOn('n3')).toContain(server.serverId);
      await findsHistory(server, `first words on ${server.domain}`);
      const move = await harness.prisma.provisioningEvent.findFirstOrThrow({ where: { serverId: server.serverId, step: 'move', status: 'succeeded' } });
      expect((move.detail as { downtimeMs: number }).downtimeMs).toBeGreaterThan(0);
    }
    expect(await servicesOn('n2')).toEqual([]);
    const activated = await operator('POST', `/operator/nodes/${b.id}/activate`);
    expect(activated.status).toBe(200);
  }, 400_000);

  it('kills a node: its servers are shown down with an incident, then restored on another node from their latest backups', async () => {
    const c = await harness.prisma.node.findUniqueOrThrow({ where: { name: names.c } });
    const onC = await harness.prisma.server.findMany({ where: { nodeId: c.id, deletedAt: null }, select: { id: true, domain: true } });
    expect(onC).toHaveLength(3);
    const lost = onC.map((s) => ({ serverId: s.id, domain: s.domain }));
    for (const server of lost) {
      const backup = await harness.prisma.serverBackup.create({ data: { serverId: server.serverId, kind: 'on_demand' } });
      await enqueueServerBackup((await harness.startWorker()).queue, { serverId: server.serverId, backupId: backup.id });
      await until(`backup of ${server.domain}`, async () => ((await harness.prisma.serverBackup.findUniqueOrThrow({ where: { id: backup.id } })).status === 'succeeded' ? true : null), 120_000, 500);
    }
    await cluster.kill('n3');
    const killedAt = Date.now();
    // Shown down (its engine silent, then Swarm's node status) by the reconciler's next passes,
    // each with its incident.
    await until(
      'every server of the killed node shown down',
      async () => {
        const rows = await harness.prisma.server.findMany({ where: { id: { in: lost.map((s) => s.serverId) } }, select: { health: true, healthIssue: true } });
        return rows.every((r) => r.health === 'down' && r.healthIssue === 'node_down') ? true : null;
      },
      60_000,
      250,
    );
    console.log(`swarm platform: servers of the killed node shown down after ${Date.now() - killedAt} ms (reconcile pass every 2 s)`);
    for (const server of lost) {
      expect(await harness.prisma.incident.findFirst({ where: { serverId: server.serverId, kind: 'node_down', resolvedAt: null } })).not.toBeNull();
      const view = await operator('GET', `/servers/${server.serverId}`);
      expect(view.status).toBe(200);
      const { health } = (await view.json()) as { health: { status: string; issue: string | null; message: string | null } };
      expect(health).toMatchObject({ status: 'down', issue: 'node_down' });
      expect(health.message).toMatch(/stopped answering/);
    }
    // After RESTORE_AFTER_MS, each is restored from its backup onto a node that is up and has room.
    await until(
      'every server of the killed node restored elsewhere',
      async () => {
        const rows = await harness.prisma.server.findMany({ where: { id: { in: lost.map((s) => s.serverId) } }, select: { nodeId: true, state: true, health: true } });
        return rows.every((r) => r.nodeId !== c.id && r.state === 'ready') ? true : null;
      },
      300_000,
      1_000,
    );
    console.log(`swarm platform: all ${lost.length} restored on another node ${Date.now() - killedAt} ms after the kill (restore after ${RESTORE_AFTER_MS} ms down)`);
    for (const server of lost) {
      expect((await nodeOf(server))?.name).toBe(names.b);
      const restored = await harness.prisma.provisioningEvent.findFirstOrThrow({ where: { serverId: server.serverId, step: 'move', status: 'succeeded' }, orderBy: { id: 'desc' } });
      expect(restored.detail).toMatchObject({ fromNode: names.c, toNode: names.b });
      await findsHistory(server, `first words on ${server.domain}`);
    }
    await until(
      'the node_down incidents resolved',
      async () => ((await harness.prisma.incident.count({ where: { serverId: { in: lost.map((s) => s.serverId) }, kind: 'node_down', resolvedAt: null } })) === 0 ? true : null),
      60_000,
      500,
    );

    // The node comes back (its machine restarted): its firewall is installed again, and the stale
    // copies of the servers restored elsewhere are removed from it.
    await cluster.restart('n3');
    await until(
      'the returned node firewalled and emptied',
      async () => {
        const hooked = (await iptablesOf('n3')).includes('-A DOCKER-USER -i docker0 -j PARLEY-TENANT-OUT');
        const { Volumes } = await cluster.node('n3').docker.listVolumes({ filters: { label: ['parley.managed=true'] } });
        return hooked && (Volumes ?? []).length === 0 ? true : null;
      },
      120_000,
      1_000,
    );
    for (const server of lost) await findsHistory(server, `first words on ${server.domain}`);
  }, 600_000);

  it('removes an empty node: it leaves the Swarm, and a node with servers is refused', async () => {
    await expect(removeNode(admin, names.b)).rejects.toMatchObject({ type: 'node_has_servers' });
    const removed = await removeNode(admin, names.c);
    expect(removed.leftSwarm).toBe(true);
    expect(await harness.prisma.node.findUniqueOrThrow({ where: { name: names.c } })).toMatchObject({ state: 'removed' });
    const listed = (await cluster.node('n1').docker.listNodes()) as { Spec: { Labels?: Record<string, string> } }[];
    expect(listed.map((n) => n.Spec.Labels?.['parley.node']).sort()).toEqual([names.a, names.b]);
    // The nodes left stop admitting their servers to its address.
    expect((await iptablesOf('n1')).some((l) => l.includes(`-d ${cluster.node('n3').ip}/32`))).toBe(false);
    expect((await iptablesOf('n1')).some((l) => l.includes(`-d ${cluster.node('n2').ip}/32`))).toBe(true);
  }, 60_000);
});
