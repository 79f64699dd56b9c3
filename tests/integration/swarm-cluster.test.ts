import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedTar, firstTarFile, tarFileEntry, tarHeader } from '../../worker/src/archive/ustar.js';
import type { ContainerFile } from '../../worker/src/ports/container-runtime.js';
import { prosodyFiles, renderProsodyConfig } from '../../worker/src/provisioning/prosody-config.js';
import { readBounded } from '../../worker/src/archive/read-bounded.js';
import { makeTestPki } from '../support/test-pki.js';
import { execIn, NODE_LABEL, SwarmCluster, type SwarmNode } from '../support/swarm-cluster.js';
import { swarmNodeImage, testEnv } from '../support/test-env.js';
import { until } from '../support/until.js';
import { connectAs } from '../support/xmpp.js';

// The spike for running Parley's servers as Swarm services (infra/swarm-node/README.md holds the
// findings): three Docker-in-Docker nodes, one pinned, hardened Prosody service per node plus a
// second one on n2, on the nodes' predefined bridge; and the config-from network that fails.

const MiB = 1024 * 1024;
const SERVICE_NAME_LABEL = 'com.docker.swarm.service.name';
const CONFIG_DIR = '/etc/parley';
const DATA_DIR = '/var/lib/prosody';
/**
 * Servers join each node's predefined bridge network, kept apart by the nodes' `dockerd
 * --icc=false`: it survives a node's restart. A swarm-scoped bridge made from per-node
 * config-only networks keeps servers apart too, but no task can join it again after its node
 * restarts (the last test shows it).
 */
const SERVER_NETWORK = 'bridge';
const CONFIG_FROM_NETWORK = 'ptenants';
const CONFIG_ONLY_NETWORK = 'ptenants-config';
const CONFIG_FROM_SUBNET = '172.30.0.0/24';

interface Service {
  name: string;
  node: string;
  port: number;
  domain: string;
  password: string;
}

/** A task's state as the manager reports it. */
interface TaskSummary {
  ID: string;
  NodeID: string;
  DesiredState: string;
  Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
}

/** Root-owned files (secret ones group-owned by `secretGid`) and their parent directories. */
function configArchive(files: ContainerFile[], secretGid: number): Buffer {
  const directories = new Set(files.flatMap((f) => (f.path.includes('/') ? [`${f.path.slice(0, f.path.lastIndexOf('/'))}/`] : [])));
  return closedTar([
    ...[...directories].map((d) => tarHeader(d, { mode: 0o755, uid: 0, gid: 0, size: 0, type: '5' })),
    ...files.map((f) => tarFileEntry(f.path, Buffer.from(f.content, 'utf8'), { mode: f.mode, uid: 0, gid: f.secret ? secretGid : 0 })),
  ]);
}

/**
 * The worker's job before a service exists: the volumes on the node the service is pinned to,
 * and the config files in one of them. There is no task container yet, so the files go in
 * through a created (never started) container on that node's engine.
 */
async function prepareVolumes(node: SwarmNode, service: Service, image: string, files: ContainerFile[]): Promise<void> {
  const labels = { 'parley.server': service.name, 'parley.managed': 'true' };
  await node.docker.createVolume({ Name: `${service.name}-data`, Labels: labels });
  await node.docker.createVolume({ Name: `${service.name}-config`, Labels: labels });
  const writer = await node.docker.createContainer({
    Image: image,
    User: 'root',
    NetworkDisabled: true,
    HostConfig: { NetworkMode: 'none', Mounts: [{ Type: 'volume', Source: `${service.name}-config`, Target: CONFIG_DIR }] },
  });
  try {
    const group = firstTarFile(await readBounded(await writer.getArchive({ path: '/etc/group' }), MiB)).toString('utf8');
    const gid = Number(group.split('\n').find((l) => l.startsWith('prosody:'))?.split(':')[2]);
    expect(Number.isInteger(gid)).toBe(true);
    await writer.putArchive(configArchive(files, gid), { path: CONFIG_DIR });
  } finally {
    await writer.remove({ force: true });
  }
}

/** containerCreateOptions' hardening as a Swarm service, pinned to one node by its label. */
function serviceSpec(service: Service, image: string, network = SERVER_NETWORK): Record<string, unknown> {
  const labels = { 'parley.server': service.name, 'parley.managed': 'true' };
  return {
    Name: service.name,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: image,
        Labels: labels,
        User: 'prosody',
        ReadOnly: true,
        Init: true,
        CapabilityDrop: ['ALL'],
        StopGracePeriod: 10e9,
        Mounts: [
          { Type: 'volume', Source: `${service.name}-data`, Target: DATA_DIR, VolumeOptions: { NoCopy: false, Labels: labels } },
          { Type: 'volume', Source: `${service.name}-config`, Target: CONFIG_DIR, VolumeOptions: { NoCopy: true, Labels: labels } },
          { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 16 * MiB, Mode: 0o1777 } },
          { Type: 'tmpfs', Target: '/run/prosody', TmpfsOptions: { SizeBytes: MiB, Mode: 0o1777 } },
        ],
      },
      Resources: { Limits: { MemoryBytes: 128 * MiB, NanoCPUs: 500_000_000, Pids: 64 } },
      RestartPolicy: { Condition: 'any', Delay: 1e9, MaxAttempts: 0 },
      Placement: { Constraints: [`node.labels.${NODE_LABEL}==${service.node}`] },
      Networks: [{ Target: network }],
      LogDriver: { Name: 'json-file', Options: { 'max-size': '10m', 'max-file': '3' } },
    },
    Mode: { Replicated: { Replicas: 1 } },
    // No VIP (it needs IPVS, which this kernel lacks); ports on the node itself, not the mesh.
    EndpointSpec: { Mode: 'dnsrr', Ports: [{ Protocol: 'tcp', TargetPort: 5222, PublishedPort: service.port, PublishMode: 'host' }] },
  };
}

/** Whether a TCP connection from inside `containerId` to host:port opens within 2 s (bash's /dev/tcp). */
async function reachesFrom(node: SwarmNode, containerId: string, host: string, port: number): Promise<boolean> {
  const result = await execIn(node.docker, containerId, ['timeout', '2', 'bash', '-c', `exec 3<>/dev/tcp/${host}/${port}`]);
  return result.exitCode === 0;
}

describe('a three-node Docker Swarm of Docker-in-Docker nodes, running pinned hardened Prosody services', { shuffle: false }, () => {
  const host = new Docker({ socketPath: testEnv().DOCKER_SOCKET });
  const image = testEnv().PROSODY_IMAGE;
  const suffix = randomBytes(3).toString('hex');
  const services: Service[] = [
    { node: 'n1', port: 25222 },
    { node: 'n2', port: 25222 },
    { node: 'n3', port: 25222 },
    // A second server on n2: it must not reach the first over the tenant network.
    { node: 'n2', port: 25223 },
  ].map(({ node, port }, i) => ({ name: `p${suffix}-${i}`, node, port, domain: `s${i}-${suffix}.parley.test`, password: randomBytes(12).toString('hex') }));
  const [first, onN2, onN3, secondOnN2] = services as [Service, Service, Service, Service];
  /** Two bare Prosody services on the config-from network, both on n3 (the node that is killed). */
  const configFromServices = [25224, 25225].map((port, i) => ({ name: `p${suffix}-cf${i}`, node: 'n3', port }));
  let cluster: SwarmCluster;
  let pki: { caPem: string; chainPem: string; keyPem: string };
  let dir = '';
  const timings: Record<string, number> = {};

  const tasksOf = async (service: Pick<Service, 'name'>): Promise<TaskSummary[]> =>
    (await cluster.manager.docker.listTasks({ filters: { service: [service.name] } })) as TaskSummary[];
  /** The task container on the service's own node, found by the label Swarm puts on it. */
  const taskContainer = async (service: Pick<Service, 'name' | 'node'>): Promise<string | null> => {
    const [summary] = await cluster.node(service.node).docker.listContainers({ filters: { label: [`${SERVICE_NAME_LABEL}=${service.name}`], status: ['running'] } });
    return summary?.Id ?? null;
  };
  const requireTask = async (service: Service): Promise<string> => {
    const id = await taskContainer(service);
    if (!id) throw new Error(`no running task container of ${service.name} on ${service.node}`);
    return id;
  };
  const login = (service: Service) =>
    connectAs({ host: cluster.node(service.node).ip, port: service.port, domain: service.domain, username: 'admin', password: service.password, trustedCaPems: [pki.caPem], timeoutMs: 15_000 });
  const logsIn = async (service: Service) => {
    const session = await login(service);
    await session.close();
    return session.jid;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-swarm-test-'));
    const [started, made] = await Promise.allSettled([
      SwarmCluster.start({
        host,
        nodeImage: swarmNodeImage(),
        nodes: 3,
        images: [image],
        // Service specs of API 1.41 cannot ask for no-new-privileges: the nodes' engines default to
        // it. --icc=false: containers on the predefined bridge (the servers') cannot reach each other.
        dockerdArgs: ['--no-new-privileges', '--icc=false'],
      }),
      makeTestPki(dir, services.map((s) => s.domain)),
    ]);
    // Kept even when the PKI failed, so afterAll removes it.
    if (started.status === 'fulfilled') cluster = started.value;
    if (started.status === 'rejected') throw started.reason;
    if (made.status === 'rejected') throw made.reason;
    pki = made.value;
  }, 180_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    // Undefined when start() failed: it has removed what it made.
    if (!(cluster as SwarmCluster | undefined)) return;
    console.log(`swarm spike timings (ms): ${JSON.stringify({ ...cluster.timings, ...timings })}`);
    const closing = Date.now();
    await cluster.close();
    console.log(`swarm spike: close() took ${Date.now() - closing} ms`);
  }, 120_000);

  it('forms a swarm of one manager and two workers, all Ready and labelled', async () => {
    const nodes = (await cluster.manager.docker.listNodes()) as {
      ID: string;
      Spec: { Labels?: Record<string, string> };
      Status: { State: string; Addr: string };
      ManagerStatus?: { Leader?: boolean };
    }[];
    expect(nodes).toHaveLength(3);
    for (const node of cluster.nodes) {
      const listed = nodes.find((n) => n.ID === node.id);
      expect(listed?.Status.State).toBe('ready');
      expect(listed?.Status.Addr).toBe(node.ip);
      expect(listed?.Spec.Labels?.[NODE_LABEL]).toBe(node.name);
      expect(listed?.ManagerStatus?.Leader === true).toBe(node.role === 'manager');
      // The Prosody image is in every node's own engine: no task has to pull it.
      expect((await node.docker.getImage(image).inspect()).RepoTags).toContain(image);
    }
    const { Spec } = (await cluster.manager.docker.swarmInspect()) as { Spec: { Dispatcher: { HeartbeatPeriod: number } } };
    expect(Spec.Dispatcher.HeartbeatPeriod).toBe(1e9);
  });

  it('builds a swarm-scoped tenant bridge from a config-only network on every node', async () => {
    await Promise.all(
      cluster.nodes.map((node) =>
        node.docker.createNetwork({
          Name: CONFIG_ONLY_NETWORK,
          ConfigOnly: true,
          IPAM: { Config: [{ Subnet: CONFIG_FROM_SUBNET }] },
          Options: { 'com.docker.network.bridge.enable_icc': 'false', 'com.docker.network.bridge.name': CONFIG_FROM_NETWORK },
          Labels: { 'parley.managed': 'true', 'parley.role': 'tenants' },
        }),
      ),
    );
    await cluster.manager.docker.createNetwork({
      Name: CONFIG_FROM_NETWORK,
      Driver: 'bridge',
      Scope: 'swarm',
      // Labels here are refused (403, "user specified configurations are not supported if the
      // network depends on a configuration network"): ownership lives on the config-only ones.
      ConfigFrom: { Network: CONFIG_ONLY_NETWORK },
    });
    // The manager's Driver reads "" at times right after the create: not asserted.
    expect(await cluster.manager.docker.getNetwork(CONFIG_FROM_NETWORK).inspect()).toMatchObject({ Scope: 'swarm', ConfigFrom: { Network: CONFIG_ONLY_NETWORK } });
    for (const node of cluster.nodes) {
      const config = await node.docker.getNetwork(CONFIG_ONLY_NETWORK).inspect();
      expect(config).toMatchObject({ ConfigOnly: true, Labels: { 'parley.managed': 'true', 'parley.role': 'tenants' } });
    }
    await Promise.all(
      configFromServices.map((service) =>
        cluster.manager.docker.createService({
          Name: service.name,
          TaskTemplate: {
            ContainerSpec: { Image: image, Init: true },
            Placement: { Constraints: [`node.labels.${NODE_LABEL}==${service.node}`] },
            Networks: [{ Target: CONFIG_FROM_NETWORK }],
          },
          EndpointSpec: { Mode: 'dnsrr', Ports: [{ Protocol: 'tcp', TargetPort: 5222, PublishedPort: service.port, PublishMode: 'host' }] },
        }),
      ),
    );
    const node = cluster.node('n3');
    const [a, b] = await Promise.all(configFromServices.map((service) => until(`a running task of ${service.name}`, () => taskContainer(service), 30_000, 100)));
    if (!a || !b) throw new Error('unreachable: until returns a value');
    const bridge = await node.docker.getNetwork(CONFIG_FROM_NETWORK).inspect();
    expect(bridge).toMatchObject({ Driver: 'bridge', Options: { 'com.docker.network.bridge.enable_icc': 'false' } });
    const addressB = (await node.docker.getContainer(b).inspect()).NetworkSettings.Networks[CONFIG_FROM_NETWORK]?.IPAddress ?? '';
    expect(addressB).toMatch(/^172\.30\.0\.\d+$/);
    expect(await until('the probe to answer', async () => ((await reachesFrom(node, a, node.ip, configFromServices[1]?.port ?? 0)) ? true : null), 10_000, 200)).toBe(true);
    expect(await reachesFrom(node, a, addressB, 5222)).toBe(false);
  }, 60_000);

  it('runs one pinned, hardened service per node (two on n2) with config written beforehand through the node engine', async () => {
    const created = Date.now();
    await Promise.all(
      services.map(async (service) => {
        const config = renderProsodyConfig({ domain: service.domain, adminJid: `admin@${service.domain}`, federation: false, ports: { https: 5281 } });
        const files = prosodyFiles({ config, chainPem: pki.chainPem, privateKeyPem: pki.keyPem, domain: service.domain });
        await prepareVolumes(cluster.node(service.node), service, image, files);
        await cluster.manager.docker.createService(serviceSpec(service, image));
      }),
    );
    timings.volumesAndServicesCreatedMs = Date.now() - created;

    await Promise.all(
      services.map(async (service) => {
        const node = cluster.node(service.node);
        const containerId = await until(`a running task of ${service.name} on ${service.node}`, () => taskContainer(service), 30_000, 100);
        // The manager learns the task's state a moment after the node's engine starts the container.
        const task = await until(`${service.name} running, as the manager sees it`, async () => (await tasksOf(service)).find((t) => t.Status.State === 'running'), 10_000, 100);
        expect(task.NodeID).toBe(node.id);
        expect(task.Status.ContainerStatus?.ContainerID).toBe(containerId);
        // The account is made through the node's engine: exec reaches the task's container there.
        const register = await execIn(node.docker, containerId, ['prosodyctl', 'register', 'admin', service.domain, service.password]);
        expect(register.exitCode, register.stderr).toBe(0);
        // A real login on the node's address: STARTTLS with the certificate from the config
        // volume, which also proves Prosody read the config written there before the task started.
        expect(await until(`a login to ${service.name}`, () => logsIn(service).catch(() => null), 30_000, 250)).toMatch(new RegExp(`^admin@${service.domain}/`));
      }),
    );
    timings.firstLoginOnEveryServiceMs = Date.now() - created;

    // The hardening as the node's engine applied it, and as the process sees it.
    const node = cluster.node(first.node);
    const containerId = await requireTask(first);
    const info = await node.docker.getContainer(containerId).inspect();
    expect(info.Config.User).toBe('prosody');
    expect(info.Config.Labels).toMatchObject({ 'parley.server': first.name, 'parley.managed': 'true' });
    expect(info.HostConfig).toMatchObject({ ReadonlyRootfs: true, CapDrop: ['ALL'], Init: true, Memory: 128 * MiB, NanoCpus: 500_000_000, PidsLimit: 64 });
    expect(info.HostConfig.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } });
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([SERVER_NETWORK]);
    const status = await execIn(node.docker, containerId, ['cat', '/proc/self/status']);
    expect(status.stdout).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status.stdout).toMatch(/^CapEff:\s+0+$/m);
    expect(status.stdout).toMatch(/^CapBnd:\s+0+$/m);
    expect((await execIn(node.docker, containerId, ['touch', '/root-is-read-only'])).exitCode).not.toBe(0);
    const mounts = (await execIn(node.docker, containerId, ['cat', '/proc/mounts'])).stdout.split('\n');
    for (const target of ['/tmp', '/run/prosody']) {
      const options = mounts.find((m) => m.split(' ')[1] === target)?.split(' ')[3]?.split(',') ?? [];
      expect(options).toEqual(expect.arrayContaining(['rw', 'nosuid', 'nodev', 'noexec']));
    }
    // The config volume as the worker left it: root-owned, unwritable by Prosody.
    const config = await execIn(node.docker, containerId, ['sh', '-c', `stat -c '%U:%G %a' ${CONFIG_DIR}/prosody.cfg.lua; touch ${CONFIG_DIR}/x`]);
    expect(config.stdout.trim()).toBe('root:root 644');
    expect(config.exitCode).not.toBe(0);
    const published = (info.NetworkSettings.Ports['5222/tcp'] ?? []) as { HostIp: string; HostPort: string }[];
    // Swarm has no host IP for a published port: host mode binds every address of the node.
    expect(published.map((p) => [p.HostIp, p.HostPort])).toContainEqual(['0.0.0.0', String(first.port)]);
  }, 90_000);

  it('keeps two servers on one node apart on its bridge network, while each reaches published ports outside', async () => {
    const node = cluster.node(onN2.node);
    const [a, b] = await Promise.all([requireTask(onN2), requireTask(secondOnN2)]);
    const addressOf = async (id: string) => (await node.docker.getContainer(id).inspect()).NetworkSettings.Networks[SERVER_NETWORK]?.IPAddress ?? '';
    const [addressA, addressB] = await Promise.all([addressOf(a), addressOf(b)]);
    expect(addressA).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // Bridged through the node, not container to container: icc=false drops the direct path.
    expect(await reachesFrom(node, a, addressB, 5222)).toBe(false);
    expect(await reachesFrom(node, b, addressA, 5222)).toBe(false);
    // The same probe succeeds towards another node's published port, so the refusal above is the network's.
    expect(await reachesFrom(node, a, cluster.node(onN3.node).ip, onN3.port)).toBe(true);
    // What --icc=false does to the predefined bridge.
    expect((await node.docker.getNetwork(SERVER_NETWORK).inspect()).Options).toMatchObject({ 'com.docker.network.bridge.enable_icc': 'false' });
  });

  it('lets the node engine freeze a task for a consistent read, and Swarm leaves it alone meanwhile', async () => {
    const node = cluster.node(first.node);
    const containerId = await requireTask(first);
    const before = (await tasksOf(first)).map((t) => t.ID);
    const container = node.docker.getContainer(containerId);
    await container.pause();
    try {
      const archive = await readBounded(await container.getArchive({ path: `${DATA_DIR}/.` }), 64 * MiB);
      expect(archive.includes(Buffer.from('accounts'))).toBe(true);
      // Longer than a few heartbeats: a paused container is still a running task to Swarm.
      await new Promise((r) => setTimeout(r, 3_000));
      expect((await tasksOf(first)).map((t) => t.ID)).toEqual(before);
    } finally {
      await container.unpause();
    }
    await logsIn(first);
  });

  it('replaces a task whose container dies with a new container on the same node, volumes kept', async () => {
    const node = cluster.node(secondOnN2.node);
    const old = await requireTask(secondOnN2);
    const killedAt = Date.now();
    await node.docker.getContainer(old).kill();
    const replacement = await until(`a new container for ${secondOnN2.name}`, async () => {
      const id = await taskContainer(secondOnN2);
      return id && id !== old ? id : null;
    }, 30_000, 100);
    await until(`a login to the replaced ${secondOnN2.name}`, () => logsIn(secondOnN2).catch(() => null), 30_000, 250);
    timings.containerKilledToLoginMs = Date.now() - killedAt;
    expect(replacement).not.toBe(old);
    expect((await tasksOf(secondOnN2)).filter((t) => t.DesiredState === 'running')).toHaveLength(1);
  }, 60_000);

  it('marks a killed worker Down, does not move its pinned task, and brings it back when the node returns', async () => {
    const down = cluster.node(onN3.node);
    const killedAt = Date.now();
    await cluster.kill(down.name);
    await until(`${down.name} Down`, async () => ((await cluster.nodeState(down.id)) === 'down' ? true : null), 30_000, 100);
    const downAt = Date.now();
    timings.nodeKilledToDownMs = downAt - killedAt;

    // The replacement task waits for a node that satisfies the constraint: none does.
    const pending = await until(
      `a pending replacement of ${onN3.name}`,
      async () => (await tasksOf(onN3)).find((t) => t.DesiredState === 'running' && t.Status.State === 'pending') ?? null,
      30_000,
      200,
    );
    timings.nodeDownToPendingMs = Date.now() - downAt;
    expect(pending.Status.Err).toMatch(/no suitable node/);
    for (const task of await tasksOf(onN3)) {
      if (task.NodeID !== down.id) expect(task.Status.State).not.toMatch(/^(assigned|accepted|preparing|starting|running)$/);
    }
    // The manager's count is no help here: read the node state and the tasks.
    const [summary] = (await cluster.manager.docker.listServices({ filters: { name: [onN3.name] }, status: true } as Docker.ServiceListOptions)) as {
      ServiceStatus?: { RunningTasks: number; DesiredTasks: number };
    }[];
    timings.runningTasksReportedWhileDown = summary?.ServiceStatus?.RunningTasks ?? -1;

    const restartedAt = Date.now();
    await cluster.restart(down.name);
    timings.nodeRestartToReadyMs = Date.now() - restartedAt;
    await until(`${onN3.name} running on ${down.name} again`, () => taskContainer(onN3), 60_000, 200);
    // Same account as before the kill: the data volume survived on the node.
    await until(`a login to ${onN3.name} after the restart`, () => logsIn(onN3).catch(() => null), 60_000, 250);
    timings.nodeRestartToLoginMs = Date.now() - restartedAt;
    const running = (await tasksOf(onN3)).filter((t) => t.Status.State === 'running');
    expect(running.map((t) => t.NodeID)).toEqual([down.id]);

    // The config-from network's tasks never come back: the node's bridge driver restored the
    // network from its own store, and every new task's attempt to create it is refused
    // (moby/moby#38318). Should an engine fix that, this fails: revisit the network choice.
    for (const service of configFromServices) {
      const rejected = await until(
        `a rejected task of ${service.name}`,
        async () => (await tasksOf(service)).find((t) => t.Status.State === 'rejected' && t.Status.Err?.includes('exists')),
        30_000,
        200,
      );
      expect(rejected.Status.Err).toMatch(/^network \w+ exists$/);
      expect(await taskContainer(service)).toBeNull();
    }
  }, 120_000);
});
