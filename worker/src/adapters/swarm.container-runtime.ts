import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import {
  ServerContainerNotFoundError,
  type ContainerEvent,
  type ContainerFile,
  type ContainerRuntime,
  type DataToolResult,
  type DataToolRun,
  type EnsuredServer,
  type EventSubscription,
  type ExecResult,
  type OwnedContainer,
  type OwnedObjects,
  type PublishedPort,
  type ServerContainerSpec,
} from '../ports/container-runtime.js';
import {
  DockerContainerRuntime,
  LABEL_MANAGED,
  LABEL_NODE,
  LABEL_SERVER,
  LABEL_SPEC_HASH,
  assertServerId,
  containerCreateOptions,
  ignoreStatus,
  ownedLabels,
  statusOf,
  validateSpec,
} from './docker.container-runtime.js';
import { ImageCopier } from './image-copy.js';
import { phaseClock } from './phase-clock.js';

/** One Swarm node as Parley knows it: its name (its `parley.node` label) and its own engine. */
export interface SwarmNodeEngine {
  name: string;
  /** The address Parley's DNS names for it: Swarm publishes host-mode ports on all of the node's. */
  publicAddress: string;
  docker: Docker;
  /** A client without a request timeout, for the node's event stream. */
  eventsClient: Docker;
}

/** The nodes Parley places servers on (the node rows), each with a client of its engine. */
export interface SwarmNodeDirectory {
  nodes(): Promise<SwarmNodeEngine[]>;
}

export interface SwarmContainerRuntimeOptions {
  execTimeoutMs?: number;
  /** Bound on waiting for Swarm to start (or stop, or remove) a server's task. */
  settleTimeoutMs?: number;
  /** Copies images from the manager's engine to the nodes (shared with the nodes' firewalls). */
  images?: ImageCopier;
}

/** Servers are pinned by this node label; `./parley node add` sets it. */
export const PLACEMENT_LABEL = 'parley.node';
/** Swarm's default network on each node: `dockerd --icc=false` keeps its containers apart. */
const NODE_NETWORK = 'bridge';
const POLL_MS = 250;
/** A node engine that does not answer a ping this soon is taken for down. */
const PING_TIMEOUT_MS = 5_000;
const TASK_RETRY_DELAY_NS = 1e9;
const MiB = 1024 * 1024;

export const serviceName = (serverId: string) => `parley-${serverId}`;

interface ServiceInfo {
  ID: string;
  Version: { Index: number };
  Spec: Record<string, unknown> & { Labels?: Record<string, string>; Mode?: { Replicated?: { Replicas?: number } }; TaskTemplate?: { ForceUpdate?: number } };
}

interface TaskInfo {
  ID: string;
  DesiredState: string;
  CreatedAt: string;
  Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
}

interface SwarmNodeInfo {
  Spec?: { Labels?: Record<string, string> };
  Status?: { State?: string };
}

interface NodeHandle {
  node: SwarmNodeEngine;
  runtime: DockerContainerRuntime;
}

/**
 * Parley's servers as Docker Swarm services, one replica each, pinned to their node, ports
 * published in host mode there. Swarm (through a manager's engine) owns the task: it starts,
 * stops, restarts and replaces it. What Swarm does not proxy, the node's own engine does
 * (infra/swarm-node/README.md): the volumes and the files in them, exec, the paused read of the
 * data, container events. A server's "container id" here is its service's id, which stays while
 * Swarm replaces tasks and containers.
 */
export class SwarmContainerRuntime implements ContainerRuntime {
  private readonly settleTimeoutMs: number;
  private readonly images: ImageCopier;
  private readonly handles = new Map<string, { engine: SwarmNodeEngine; runtime: DockerContainerRuntime }>();

  constructor(
    private readonly manager: Docker,
    private readonly directory: SwarmNodeDirectory,
    private readonly options: SwarmContainerRuntimeOptions = {},
  ) {
    this.settleTimeoutMs = options.settleTimeoutMs ?? 120_000;
    this.images = options.images ?? new ImageCopier(manager);
  }

  async ping(): Promise<string> {
    const version = await this.manager.version();
    // Only a manager answers this: a worker node's engine cannot place services.
    await this.manager.swarmInspect();
    return `Docker Swarm manager ${version.Version} (API ${version.ApiVersion})`;
  }

  async ensureServer(spec: ServerContainerSpec): Promise<EnsuredServer> {
    validateSpec(spec);
    const clock = phaseClock();
    const { target, service: current } = await clock.time('create', async () => {
      const target = await this.handle(spec.node);
      let service = await this.inspectService(spec.serverId);
      if (service && (service.Spec.Labels?.[LABEL_SPEC_HASH] !== spec.specHash || service.Spec.Labels[LABEL_NODE] !== spec.node)) {
        await this.discardService(service);
        service = undefined;
      }
      return { target, service };
    });
    await clock.time('prepare', () => this.images.ensure(target.node.docker, target.node.name, spec.image));
    // The config and certificate go onto the volume before the task exists.
    await clock.time('files', () => target.runtime.stageVolumes(spec));
    const service = await clock.time('create', async () => {
      if (!current) return this.createService(spec);
      if (replicasOf(current) === 0) await this.updateService(current, { replicas: 1 });
      return current;
    });
    await clock.time('start', () => this.untilRunning(spec.serverId, target, new Set()));
    return { containerId: service.ID, reused: current !== undefined, phasesMs: clock.totals() };
  }

  async writeFiles(serverId: string, files: ContainerFile[]): Promise<void> {
    await (await this.serverHandle(serverId)).runtime.writeFiles(serverId, files);
  }

  async exec(serverId: string, argv: string[], stdin?: string): Promise<ExecResult> {
    return (await this.serverHandle(serverId)).runtime.exec(serverId, argv, stdin);
  }

  async stopServer(serverId: string): Promise<void> {
    const service = await this.requireService(serverId);
    const { runtime } = await this.handle(nodeOf(service));
    if (replicasOf(service) !== 0) await this.updateService(service, { replicas: 0 });
    await this.settle(`server ${serverId} stopped`, async () => {
      const [container] = (await runtime.listOwned(serverId)).containers;
      return container === undefined || container.state === 'exited' || container.state === 'dead' ? true : undefined;
    });
  }

  async startServer(serverId: string): Promise<void> {
    const service = await this.requireService(serverId);
    const handle = await this.handle(nodeOf(service));
    const [container] = (await handle.runtime.listOwned(serverId)).containers;
    // Left frozen by a backup whose worker died mid-way: thawing it is starting it.
    if (container?.state === 'paused') return handle.runtime.startServer(serverId);
    if (replicasOf(service) !== 1) await this.updateService(service, { replicas: 1 });
    await this.untilRunning(serverId, handle, new Set());
  }

  async restartServer(serverId: string): Promise<void> {
    const service = await this.requireService(serverId);
    const handle = await this.handle(nodeOf(service));
    const before = new Set((await this.tasks(serverId)).map((t) => t.ID));
    await this.updateService(service, { replicas: 1, forceUpdate: true });
    await this.untilRunning(serverId, handle, before);
  }

  async removeServer(serverId: string): Promise<void> {
    assertServerId(serverId);
    const service = await this.inspectService(serverId);
    if (service) await this.discardService(service);
    // Every node that answers: a move leaves nothing behind on the node it left. A node that is
    // down keeps what it held until it is back (see pruneElsewhere) or removed.
    for (const handle of await this.readyHandles()) await handle.runtime.removeServer(serverId);
  }

  async pruneElsewhere(serverId: string, node: string): Promise<number> {
    let pruned = 0;
    for (const handle of await this.readyHandles()) {
      if (handle.node.name === node) continue;
      const { containers, volumes } = await handle.runtime.listOwned(serverId);
      if (containers.length === 0 && volumes.length === 0) continue;
      await handle.runtime.removeServer(serverId);
      pruned++;
    }
    return pruned;
  }

  async missingFiles(owned: OwnedContainer, paths: string[]): Promise<string[]> {
    const { runtime } = await this.serverHandle(owned.serverId);
    const [container] = (await runtime.listOwned(owned.serverId)).containers;
    if (!container) throw new ServerContainerNotFoundError(owned.serverId);
    return runtime.missingFiles(container, paths);
  }

  async discardContainer(serverId: string): Promise<void> {
    const service = await this.inspectService(serverId);
    if (service) await this.discardService(service);
  }

  async exportData(serverId: string, sink: Writable, image: string): Promise<{ frozenMs: number }> {
    return (await this.serverHandle(serverId)).runtime.exportData(serverId, sink, image);
  }

  async replaceData(spec: ServerContainerSpec, source: Readable): Promise<{ containerId: string }> {
    validateSpec(spec);
    const target = await this.handle(spec.node);
    const existing = await this.inspectService(spec.serverId);
    if (existing) await this.discardService(existing);
    await this.images.ensure(target.node.docker, target.node.name, spec.image);
    await target.runtime.stageVolumes(spec, source);
    const service = await this.createService(spec);
    await this.untilRunning(spec.serverId, target, new Set());
    // The data lives on the target now: a copy on the node it came from is stale.
    await this.pruneElsewhere(spec.serverId, spec.node);
    return { containerId: service.ID };
  }

  async runDataTool(run: DataToolRun): Promise<DataToolResult> {
    const [handle] = await this.readyHandles();
    if (!handle) throw new Error('no Swarm node is ready to run a data tool on');
    await this.images.ensure(handle.node.docker, handle.node.name, run.image);
    return handle.runtime.runDataTool(run);
  }

  async listOwned(serverId?: string): Promise<OwnedObjects> {
    if (serverId !== undefined) assertServerId(serverId);
    const label = serverId === undefined ? [`${LABEL_MANAGED}=true`] : [`${LABEL_MANAGED}=true`, `${LABEL_SERVER}=${serverId}`];
    const [services, perNode] = await Promise.all([
      this.manager.listServices({ filters: { label } }).then((list) => list as unknown as ServiceInfo[]),
      // A node whose engine does not answer shows nothing: its servers are seen as missing.
      this.handles$().then((handles) =>
        Promise.all(handles.map(async (h) => ({ handle: h, owned: await h.runtime.listOwned(serverId).catch(() => undefined) }))),
      ),
    ]);
    const containers: OwnedContainer[] = [];
    for (const service of services) {
      const id = service.Spec.Labels?.[LABEL_SERVER];
      const node = service.Spec.Labels?.[LABEL_NODE];
      const seen = perNode.find((n) => n.handle.node.name === node);
      if (!id || !seen?.owned) continue;
      const current = currentOf(seen.owned.containers.filter((c) => c.serverId === id));
      if (!current) continue;
      containers.push({
        ...current,
        id: service.ID,
        specHash: service.Spec.Labels?.[LABEL_SPEC_HASH] ?? '',
        node: node ?? null,
        ports: onAddress(current.ports, seen.handle.node.publicAddress),
        // Its address on its node's bridge is reachable on that node only: checks use the ports.
        address: null,
      });
    }
    return { containers, volumes: perNode.flatMap((n) => n.owned?.volumes ?? []) };
  }

  watchEvents(handlers: { onEvent(event: ContainerEvent): void; onConnected(): void; onError(error: unknown): void }): EventSubscription {
    let stopped = false;
    const subscriptions: EventSubscription[] = [];
    // Each node's engine reports its own containers; the nodes registered now are followed.
    this.handles$().then(
      (handles) => {
        if (stopped) return;
        for (const handle of handles) subscriptions.push(handle.runtime.watchEvents(handlers));
      },
      (error: unknown) => handlers.onError(error),
    );
    return {
      stop: () => {
        stopped = true;
        for (const subscription of subscriptions) subscription.stop();
      },
    };
  }

  async publishedHostPorts(): Promise<ReadonlySet<number>> {
    // Every node's: allocation then never hands out a port a node would refuse, whichever it is.
    const ports = new Set<number>();
    for (const handle of await this.readyHandles()) for (const port of await handle.runtime.publishedHostPorts()) ports.add(port);
    return ports;
  }

  async downNodes(): Promise<ReadonlySet<string>> {
    // Down for Swarm (missed heartbeats, or not listed as ready) or its engine not answering
    // Parley, which is seen first: Swarm waits for a few heartbeats.
    const [handles, listed] = await Promise.all([this.handles$(), this.manager.listNodes() as Promise<SwarmNodeInfo[]>]);
    const ready = new Set(listed.filter((n) => n.Status?.State === 'ready').map((n) => n.Spec?.Labels?.[PLACEMENT_LABEL]));
    const answering = await this.answering(handles);
    return new Set(handles.map((h) => h.node.name).filter((name, i) => !ready.has(name) || !answering[i]));
  }

  private async createService(spec: ServerContainerSpec): Promise<ServiceInfo> {
    try {
      await this.manager.createService(serviceSpec(spec));
      return await this.requireService(spec.serverId);
    } catch (error) {
      // Created meanwhile by a concurrent run: the same spec, so it is the one to use.
      if (statusOf(error) === 409) return this.requireService(spec.serverId);
      throw error;
    }
  }

  private async updateService(service: ServiceInfo, change: { replicas: number; forceUpdate?: boolean }): Promise<void> {
    const { Spec } = service;
    const taskTemplate = { ...(Spec.TaskTemplate ?? {}), ...(change.forceUpdate ? { ForceUpdate: (Spec.TaskTemplate?.ForceUpdate ?? 0) + 1 } : {}) };
    await this.manager.getService(service.ID).update({ version: service.Version.Index, ...Spec, TaskTemplate: taskTemplate, Mode: { Replicated: { Replicas: change.replicas } } });
  }

  /** Removes the service and waits until its node has no container of it (when the node answers). */
  private async discardService(service: ServiceInfo): Promise<void> {
    const serverId = service.Spec.Labels?.[LABEL_SERVER] ?? '';
    await ignoreStatus(this.manager.getService(service.ID).remove(), 404);
    const handle = (await this.readyHandles()).find((h) => h.node.name === nodeOf(service));
    if (!handle) return;
    // Swarm stops the task gracefully (Prosody flushes); its containers then go.
    await this.settle(`service of server ${serverId} removed`, async () => ((await handle.runtime.listOwned(serverId)).containers.some((c) => c.state === 'running') ? undefined : true));
    await handle.runtime.removeContainers(serverId);
  }

  /** Waits until a task not in `before` runs on the node, naming Swarm's last error if none does. */
  private async untilRunning(serverId: string, handle: NodeHandle, before: ReadonlySet<string>): Promise<void> {
    let lastError = '';
    await this.settle(`server ${serverId} running on node ${handle.node.name}`, async () => {
      const tasks = await this.tasks(serverId);
      const fresh = tasks.filter((t) => !before.has(t.ID)).sort((a, b) => b.CreatedAt.localeCompare(a.CreatedAt));
      lastError = fresh.find((t) => t.Status.Err)?.Status.Err ?? lastError;
      const running = fresh.find((t) => t.Status.State === 'running' && t.DesiredState === 'running');
      if (!running) return undefined;
      const [container] = (await handle.runtime.listOwned(serverId)).containers;
      return container?.state === 'running' ? true : undefined;
    }, () => lastError);
  }

  private async settle(what: string, check: () => Promise<true | undefined>, detail: () => string = () => ''): Promise<void> {
    const deadline = Date.now() + this.settleTimeoutMs;
    while (Date.now() < deadline) {
      if (await check()) return;
      await sleep(POLL_MS);
    }
    const why = detail();
    throw new Error(`${what}: not within ${this.settleTimeoutMs} ms${why ? ` (Swarm: ${why})` : ''}`);
  }

  private async tasks(serverId: string): Promise<TaskInfo[]> {
    return (await this.manager.listTasks({ filters: { service: [serviceName(serverId)] } })) as TaskInfo[];
  }

  private async inspectService(serverId: string): Promise<ServiceInfo | undefined> {
    assertServerId(serverId);
    try {
      const service = (await this.manager.getService(serviceName(serverId)).inspect()) as ServiceInfo;
      // A name match is not enough: only a service carrying Parley's labels for this server is ours.
      return service.Spec.Labels?.[LABEL_MANAGED] === 'true' && service.Spec.Labels[LABEL_SERVER] === serverId ? service : undefined;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  private async requireService(serverId: string): Promise<ServiceInfo> {
    const service = await this.inspectService(serverId);
    if (!service) throw new ServerContainerNotFoundError(serverId);
    return service;
  }

  /** The node holding the server: its service's, else the one node holding its volumes. */
  private async serverHandle(serverId: string): Promise<NodeHandle> {
    const service = await this.inspectService(serverId);
    if (service) return this.handle(nodeOf(service));
    for (const handle of await this.readyHandles()) {
      if ((await handle.runtime.listOwned(serverId)).volumes.length > 0) return handle;
    }
    throw new ServerContainerNotFoundError(serverId);
  }

  private async handle(name: string): Promise<NodeHandle> {
    const handle = (await this.handles$()).find((h) => h.node.name === name);
    if (!handle) throw new Error(`node ${name} is not one of Parley's Swarm nodes (no node row, or no engine endpoint)`);
    return handle;
  }

  /** Nodes whose engine answers now, in the directory's order. */
  private async readyHandles(): Promise<NodeHandle[]> {
    const handles = await this.handles$();
    const answering = await this.answering(handles);
    return handles.filter((_, i) => answering[i]);
  }

  /** Whether each node's engine answers a ping within PING_TIMEOUT_MS. */
  private answering(handles: NodeHandle[]): Promise<boolean[]> {
    return Promise.all(
      handles.map((h) => {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS)));
        return Promise.race([h.node.docker.ping().then(() => true, () => false), timedOut]).finally(() => clearTimeout(timer));
      }),
    );
  }

  private async handles$(): Promise<NodeHandle[]> {
    const nodes = await this.directory.nodes();
    return nodes.map((node) => {
      const known = this.handles.get(node.name);
      if (known && known.engine.docker === node.docker) return { node, runtime: known.runtime };
      const runtime = new DockerContainerRuntime(node.docker, {
        nodeName: node.name,
        eventsClient: node.eventsClient,
        locate: 'labels',
        ...(this.options.execTimeoutMs === undefined ? {} : { execTimeoutMs: this.options.execTimeoutMs }),
      });
      this.handles.set(node.name, { engine: node, runtime });
      return { node, runtime };
    });
  }
}

function nodeOf(service: ServiceInfo): string {
  const node = service.Spec.Labels?.[LABEL_NODE];
  if (!node) throw new Error(`service ${service.ID} has no ${LABEL_NODE} label`);
  return node;
}

function replicasOf(service: ServiceInfo): number | undefined {
  return service.Spec.Mode?.Replicated?.Replicas;
}

/** The running (or frozen) container among a server's task containers, else the newest listed. */
function currentOf(containers: OwnedContainer[]): OwnedContainer | undefined {
  return containers.find((c) => c.state === 'running' || c.state === 'paused') ?? containers[0];
}

/** Host-mode ports are bound on every address of the node; Parley serves them on its public one. */
function onAddress(ports: PublishedPort[], address: string): PublishedPort[] {
  const seen = new Map<string, PublishedPort>();
  for (const p of ports) seen.set(`${p.hostPort}->${p.containerPort}`, { ...p, hostIp: address });
  return [...seen.values()];
}

/** containerCreateOptions' hardening as a Swarm service spec (API 1.41), pinned to the spec's node. */
export function serviceSpec(spec: ServerContainerSpec): Record<string, unknown> {
  const container = containerCreateOptions(spec, spec.node);
  const labels = { ...ownedLabels(spec.serverId, spec.node), [LABEL_SPEC_HASH]: spec.specHash };
  const host = container.HostConfig ?? {};
  return {
    Name: serviceName(spec.serverId),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: spec.image,
        Labels: labels,
        User: container.User,
        ReadOnly: true,
        Init: true,
        CapabilityDrop: ['ALL'],
        StopGracePeriod: 10e9,
        ...(spec.dns.length > 0 ? { DNSConfig: { Nameservers: spec.dns } } : {}),
        Mounts: [
          ...(host.Mounts ?? []),
          { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 16 * MiB, Mode: 0o1777 } },
          { Type: 'tmpfs', Target: '/run/prosody', TmpfsOptions: { SizeBytes: MiB, Mode: 0o1777 } },
        ],
      },
      Resources: { Limits: { MemoryBytes: spec.limits.memoryBytes, NanoCPUs: spec.limits.nanoCpus, Pids: spec.limits.pidsLimit } },
      RestartPolicy: { Condition: 'any', Delay: TASK_RETRY_DELAY_NS, MaxAttempts: 0 },
      Placement: { Constraints: [`node.labels.${PLACEMENT_LABEL}==${spec.node}`] },
      Networks: [{ Target: NODE_NETWORK }],
      LogDriver: { Name: 'json-file', Options: { 'max-size': '10m', 'max-file': '3' } },
    },
    Mode: { Replicated: { Replicas: 1 } },
    // No VIP (it needs IPVS); each port on the node itself, not Swarm's routing mesh.
    EndpointSpec: { Mode: 'dnsrr', Ports: spec.ports.map((p) => ({ Protocol: 'tcp', TargetPort: p.containerPort, PublishedPort: p.hostPort, PublishMode: 'host' })) },
  };
}
