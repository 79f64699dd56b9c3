import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SwarmContainerRuntime, serviceName, type SwarmNodeEngine } from '../../worker/src/adapters/swarm.container-runtime.js';
import { readBounded } from '../../worker/src/archive/read-bounded.js';
import { ServerContainerNotFoundError, type ContainerEvent, type ServerContainerSpec } from '../../worker/src/ports/container-runtime.js';
import { prosodyFiles, renderProsodyConfig } from '../../worker/src/provisioning/prosody-config.js';
import { DockerNodeTenantFirewall } from '../../worker/src/adapters/docker-node.tenant-firewall.js';
import { ImageCopier } from '../../worker/src/adapters/image-copy.js';
import { execIn, SwarmCluster } from '../support/swarm-cluster.js';
import { makeTestPki, type TestPki } from '../support/test-pki.js';
import { nodeAgentImage, swarmNodeImage, testEnv } from '../support/test-env.js';
import { until } from '../support/until.js';
import { connectAs } from '../support/xmpp.js';

// The Swarm adapter of the ContainerRuntime port on a real three-node Swarm of Docker-in-Docker
// nodes: services through the manager, volumes, files, exec and the paused read through each
// node's own engine.

const MiB = 1024 * 1024;

interface TestServer {
  id: string;
  domain: string;
  node: string;
  port: number;
  password: string;
}

describe('SwarmContainerRuntime on a three-node Swarm', { shuffle: false }, () => {
  const host = new Docker({ socketPath: testEnv().DOCKER_SOCKET });
  const image = testEnv().PROSODY_IMAGE;
  const suffix = randomBytes(3).toString('hex');
  const servers: TestServer[] = [
    { node: 'n1', port: 25322 },
    { node: 'n2', port: 25322 },
    { node: 'n3', port: 25322 },
    { node: 'n2', port: 25323 },
  ].map(({ node, port }, i) => ({ id: randomUUID(), domain: `r${i}-${suffix}.parley.test`, node, port, password: randomBytes(12).toString('hex') }));
  const [onN1, onN2, onN3, secondOnN2] = servers as [TestServer, TestServer, TestServer, TestServer];
  let cluster: SwarmCluster;
  let runtime: SwarmContainerRuntime;
  let pki: TestPki;
  let dir = '';

  const specOf = (server: TestServer, specHash = 'h1'): ServerContainerSpec => ({
    serverId: server.id,
    node: server.node,
    image,
    specHash,
    hostIp: cluster.node(server.node).ip,
    network: 'ptenants',
    dns: [],
    ports: [{ containerPort: 5222, hostPort: server.port }],
    limits: { memoryBytes: 128 * MiB, nanoCpus: 500_000_000, pidsLimit: 64 },
    files: prosodyFiles({
      config: renderProsodyConfig({ domain: server.domain, adminJid: `admin@${server.domain}`, federation: false, ports: { https: 5281 } }),
      chainPem: pki.chainPem,
      privateKeyPem: pki.keyPem,
      domain: server.domain,
    }),
  });
  const login = async (server: TestServer, username = 'admin', password = server.password) => {
    const session = await connectAs({ host: cluster.node(server.node).ip, port: server.port, domain: server.domain, username, password, trustedCaPems: [pki.caPem], timeoutMs: 15_000 });
    await session.close();
    return session.jid;
  };
  const logsIn = (server: TestServer, username = 'admin', password = server.password) =>
    until(`a login as ${username} to ${server.domain} on ${server.node}`, () => login(server, username, password).catch(() => null), 30_000, 250);
  const register = async (server: TestServer, username: string, password: string) => {
    const result = await runtime.exec(server.id, ['prosodyctl', 'register', username, server.domain, password]);
    expect(result.exitCode, result.stderr).toBe(0);
  };
  const serviceId = async (server: Pick<TestServer, 'id'>): Promise<string> =>
    ((await cluster.manager.docker.getService(serviceName(server.id)).inspect()) as { ID: string }).ID;
  const containersOn = async (node: string, serverId: string) =>
    cluster.node(node).docker.listContainers({ all: true, filters: { label: [`parley.server=${serverId}`] } });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-swarm-runtime-'));
    const [started, made] = await Promise.allSettled([
      SwarmCluster.start({ host, nodeImage: swarmNodeImage(), nodes: 3, images: [image, nodeAgentImage()], dockerdArgs: ['--no-new-privileges', '--icc=false'] }),
      makeTestPki(dir, servers.map((s) => s.domain)),
    ]);
    if (started.status === 'fulfilled') cluster = started.value;
    if (started.status === 'rejected') throw started.reason;
    if (made.status === 'rejected') throw made.reason;
    pki = made.value;
    const engines: SwarmNodeEngine[] = cluster.nodes.map((n) => ({ name: n.name, publicAddress: n.ip, docker: n.docker, eventsClient: new Docker({ socketPath: n.socketPath }) }));
    runtime = new SwarmContainerRuntime(cluster.manager.docker, { nodes: () => Promise.resolve(engines) }, { settleTimeoutMs: 60_000 });
  }, 180_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    if (!(cluster as SwarmCluster | undefined)) return;
    await cluster.close();
  }, 120_000);

  it('answers ping as a Swarm manager, and refuses a worker node as one', async () => {
    expect(await runtime.ping()).toMatch(/^Docker Swarm manager /);
    const onWorker = new SwarmContainerRuntime(cluster.node('n2').docker, { nodes: () => Promise.resolve([]) });
    await expect(onWorker.ping()).rejects.toThrow(/manager/i);
  });

  it('places each server as a service pinned to its node, which a real client logs in to', async () => {
    const results = await Promise.all(servers.map((s) => runtime.ensureServer(specOf(s))));
    for (const [i, server] of servers.entries()) {
      expect(results[i]).toMatchObject({ containerId: await serviceId(server), reused: false });
      expect(Object.keys(results[i]?.phasesMs ?? {}).sort()).toEqual(['create', 'files', 'prepare', 'start']);
      const running = (await containersOn(server.node, server.id)).filter((c) => c.State === 'running');
      expect(running).toHaveLength(1);
      // Nowhere else: the placement constraint held.
      for (const other of cluster.nodes.filter((n) => n.name !== server.node)) expect(await containersOn(other.name, server.id)).toHaveLength(0);
    }
    await Promise.all(
      servers.map(async (server) => {
        await register(server, 'admin', server.password);
        expect(await logsIn(server)).toMatch(new RegExp(`^admin@${server.domain}/`));
      }),
    );
    // The hardening, as n1's engine applied it to the task's container.
    const [task] = (await containersOn('n1', onN1.id)).filter((c) => c.State === 'running');
    const info = await cluster.node('n1').docker.getContainer(task?.Id ?? '').inspect();
    expect(info.Config.User).toBe('prosody');
    expect(info.HostConfig).toMatchObject({ ReadonlyRootfs: true, CapDrop: ['ALL'], Memory: 128 * MiB, PidsLimit: 64 });
    expect(info.Config.Labels).toMatchObject({ 'parley.server': onN1.id, 'parley.managed': 'true', 'parley.node': 'n1', 'parley.spec-hash': 'h1' });
  }, 180_000);

  it('lists one container per server with its service id, node, state and ports on the node address', async () => {
    const { containers, volumes } = await runtime.listOwned();
    for (const server of servers) {
      const listed = containers.filter((c) => c.serverId === server.id);
      expect(listed).toEqual([
        expect.objectContaining({ id: await serviceId(server), node: server.node, state: 'running', specHash: 'h1', ports: [{ containerPort: 5222, hostPort: server.port, hostIp: cluster.node(server.node).ip }] }),
      ]);
      expect(volumes.filter((v) => v.serverId === server.id).map((v) => [v.name, v.node]).sort()).toEqual([
        [`parley-${server.id}-config`, server.node],
        [`parley-${server.id}-data`, server.node],
      ]);
    }
    expect((await runtime.publishedHostPorts()).has(secondOnN2.port)).toBe(true);
  });

  it('confines a Swarm node\'s servers with its tenant firewall, installed through the node\'s engine', async () => {
    const [task] = (await containersOn('n2', onN2.id)).filter((c) => c.State === 'running');
    const from = task?.Id ?? '';
    const reaches = async (host: string, port: number) => (await execIn(cluster.node('n2').docker, from, ['timeout', '2', 'bash', '-c', `exec 3<>/dev/tcp/${host}/${port}`])).exitCode === 0;
    const ip = (name: string) => cluster.node(name).ip;
    const targets = {
      managerPortOfN1: [ip('n1'), 2377],
      gossipPortOfOwnNode: [ip('n2'), 7946],
      serverOnN3: [ip('n3'), onN3.port],
      neighbourOnOwnNode: [ip('n2'), secondOnN2.port],
    } as const;
    const reach = async () => Object.fromEntries(await Promise.all(Object.entries(targets).map(async ([what, [host, port]]) => [what, await reaches(host, port)] as const)));
    // Without it, a customer's server reaches the Swarm's own ports on every node.
    expect(await reach()).toEqual({ managerPortOfN1: true, gossipPortOfOwnNode: true, serverOnN3: true, neighbourOnOwnNode: true });
    const range = { first: 25322, last: 25324 };
    const apply = () =>
      Promise.all(
        cluster.nodes.map((node) =>
          new DockerNodeTenantFirewall(node.docker, nodeAgentImage(), node.name, new ImageCopier(cluster.manager.docker)).apply({
            bridge: 'docker0',
            publishedPorts: range,
            containerDns: [],
            peers: cluster.nodes.filter((n) => n !== node).map((n) => ({ address: n.ip, ...range })),
          }),
        ),
      );
    await apply();
    await apply();
    expect(await reach()).toEqual({ managerPortOfN1: false, gossipPortOfOwnNode: false, serverOnN3: true, neighbourOnOwnNode: true });
    // Applied twice, hooked once; and nothing of the agent's runs is left on the node.
    const rules = await execIn(host, cluster.node('n2').container, ['iptables', '-S', 'DOCKER-USER']);
    expect(rules.stdout.split('\n').filter((l) => l.includes('-j PARLEY-TENANT-OUT'))).toHaveLength(1);
    expect(await cluster.node('n2').docker.listContainers({ all: true, filters: { label: ['parley.role=node-agent'] } })).toEqual([]);
    expect(await logsIn(onN2)).toMatch(/^admin@/);
  }, 120_000);

  it('keeps a service whose spec is unchanged, and writes files into a running server', async () => {
    expect(await runtime.ensureServer(specOf(onN2))).toMatchObject({ containerId: await serviceId(onN2), reused: true });
    const [owned] = (await runtime.listOwned(onN2.id)).containers;
    if (!owned) throw new Error('no container listed');
    expect(await runtime.missingFiles(owned, ['prosody.cfg.lua', 'extra/note.txt'])).toEqual(['extra/note.txt']);
    await runtime.writeFiles(onN2.id, [{ path: 'extra/note.txt', content: 'hello', mode: 0o644 }]);
    expect(await runtime.missingFiles(owned, ['prosody.cfg.lua', 'extra/note.txt'])).toEqual([]);
    expect((await runtime.exec(onN2.id, ['cat', '/etc/parley/extra/note.txt'])).stdout).toBe('hello');
  }, 60_000);

  it('stops, starts and restarts a server through its service, the service id kept', async () => {
    const ID = await serviceId(onN3);
    await runtime.stopServer(onN3.id);
    expect((await runtime.listOwned(onN3.id)).containers.map((c) => c.state)).not.toContain('running');
    await expect(login(onN3)).rejects.toThrow();
    await runtime.stopServer(onN3.id);
    await runtime.startServer(onN3.id);
    expect(await logsIn(onN3)).toMatch(/^admin@/);
    const [running] = (await containersOn('n3', onN3.id)).filter((c) => c.State === 'running');
    await runtime.restartServer(onN3.id);
    const [after] = (await containersOn('n3', onN3.id)).filter((c) => c.State === 'running');
    expect(after?.Id).toBeDefined();
    expect(after?.Id).not.toBe(running?.Id);
    expect((await runtime.listOwned(onN3.id)).containers).toEqual([expect.objectContaining({ id: ID, state: 'running' })]);
    expect(await logsIn(onN3)).toMatch(/^admin@/);
  }, 120_000);

  it('reports a task container that dies and the one Swarm starts in its place', async () => {
    const events: ContainerEvent[] = [];
    let connections = 0;
    const subscription = runtime.watchEvents({ onEvent: (e) => events.push(e), onConnected: () => connections++, onError: () => undefined });
    try {
      await until('all three node engines followed', () => Promise.resolve(connections >= 3 ? true : null), 20_000, 50);
      const [task] = (await containersOn('n1', onN1.id)).filter((c) => c.State === 'running');
      await cluster.node('n1').docker.getContainer(task?.Id ?? '').kill();
      const seen = (action: string) => events.some((e) => e.serverId === onN1.id && e.action === action);
      await until('die then start of the server', () => Promise.resolve(seen('die') && seen('start') ? true : null), 30_000, 100);
      expect(await logsIn(onN1)).toMatch(/^admin@/);
    } finally {
      subscription.stop();
    }
  }, 60_000);

  it('moves a server to another node through its data: the account is there, nothing is left on the old node', async () => {
    await register(secondOnN2, 'alice', 'alice-password-1');
    const sink = new PassThrough();
    const archive = readBounded(sink, 64 * MiB);
    const { frozenMs } = await runtime.exportData(secondOnN2.id, sink, image);
    sink.end();
    expect(frozenMs).toBeGreaterThan(0);
    const moved: TestServer = { ...secondOnN2, node: 'n3', port: 25324 };
    const before = await serviceId(moved);
    const source = new PassThrough();
    source.end(await archive);
    const { containerId } = await runtime.replaceData(specOf(moved, 'h2'), source);
    expect(containerId).not.toBe(before);
    expect(await logsIn(moved, 'alice', 'alice-password-1')).toMatch(/^alice@/);
    expect(await containersOn('n2', moved.id)).toHaveLength(0);
    expect((await cluster.node('n2').docker.listVolumes({ filters: { label: [`parley.server=${moved.id}`] } })).Volumes).toEqual([]);
    expect((await runtime.listOwned(moved.id)).containers).toEqual([expect.objectContaining({ id: containerId, node: 'n3', state: 'running', specHash: 'h2' })]);
    secondOnN2.node = 'n3';
    secondOnN2.port = 25324;
  }, 120_000);

  it('removes a server everywhere: service, containers, volumes', async () => {
    await runtime.removeServer(onN2.id);
    await runtime.removeServer(onN2.id);
    await expect(cluster.manager.docker.getService(serviceName(onN2.id)).inspect()).rejects.toMatchObject({ statusCode: 404 });
    for (const node of cluster.nodes) {
      expect(await containersOn(node.name, onN2.id)).toHaveLength(0);
      expect((await node.docker.listVolumes({ filters: { label: [`parley.server=${onN2.id}`] } })).Volumes).toEqual([]);
    }
    expect(await runtime.listOwned(onN2.id)).toEqual({ containers: [], volumes: [] });
    await expect(runtime.exec(onN2.id, ['true'])).rejects.toBeInstanceOf(ServerContainerNotFoundError);
  }, 60_000);

  it('shows nothing of a node that is down: its servers are missing, the others still listed', async () => {
    await cluster.kill('n3');
    const { containers } = await runtime.listOwned();
    expect(containers.map((c) => c.serverId).sort()).toEqual([onN1.id].sort());
    await expect(runtime.ensureServer(specOf({ ...onN3, id: randomUUID() }))).rejects.toThrow();
  }, 60_000);
});
