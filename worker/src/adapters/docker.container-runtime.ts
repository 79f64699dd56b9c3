import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { PassThrough, type Duplex, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readBounded } from '../archive/read-bounded.js';
import { closedTar, firstTarFile, tarFileEntry, tarHeader } from '../archive/ustar.js';
import { phaseClock } from './phase-clock.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import {
  CONTAINER_EVENT_ACTIONS,
  ForeignObjectError,
  ServerContainerNotFoundError,
  TENANT_NETWORK_NAME,
  type ContainerFile,
  type ContainerRuntime,
  type DataToolResult,
  type DataToolRun,
  type ContainerEvent,
  type ContainerEventAction,
  type ContainerState,
  type EnsuredServer,
  type EventSubscription,
  type ExecResult,
  type OwnedContainer,
  type OwnedObjects,
  type ServerContainerSpec,
} from '../ports/container-runtime.js';

export const LABEL_SERVER = 'parley.server';
export const LABEL_MANAGED = 'parley.managed';
export const LABEL_SPEC_HASH = 'parley.spec-hash';
/** The node (platform instance) that made the object: only its own reconciler removes orphans. */
export const LABEL_NODE = 'parley.node';
const LABEL_ROLE = 'parley.role';
const TENANT_NETWORK_ROLE = 'tenants';
/** A data tool's container carries this role and no server's labels: nothing takes it for a server's. */
const DATA_TOOL_ROLE = 'data-tool';
/** A data tool's container older than this was left by a worker that died: the next run removes it. */
const DATA_TOOL_STALE_MS = 3_600_000;
const DATA_TOOL_LIMITS = { memoryBytes: 512 * 1024 * 1024, pidsLimit: 64, logBytes: 16 * 1024 };
const BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name';
const BRIDGE_ICC_OPTION = 'com.docker.network.bridge.enable_icc';

const CONFIG_DIR = '/etc/parley';
const DATA_DIR = '/var/lib/prosody';
/** The image's user; its group may read private keys. */
const PROSODY_USER = 'prosody';
const STOP_TIMEOUT_SECONDS = 10;
/** How long a removal waits for another one of the same container already under way. */
const REMOVAL_WAIT_MS = 30_000;
/** How much of a server's data a backup holds in memory so the server is frozen only while it is read. */
const SPOOL_BYTES = 64 * 1024 * 1024;
const MAX_EXEC_OUTPUT_BYTES = 1024 * 1024;
// The engine reserves a name before the container can be inspected by it: a racing run sees
// 409 on create and 404 on inspect for a moment, so it waits a little and looks again.
const ENSURE_ATTEMPTS = 10;
const ENSURE_RETRY_DELAY_MS = 100;

// Server ids become parts of Docker names and label values: uuids and similar only.
const SERVER_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const FILE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** A data tool's files lie in the data directory itself: `alice@chat.example.com.xml`, say. */
const DATA_TOOL_FILE = /^[A-Za-z0-9][A-Za-z0-9@._%-]{0,98}$/;

export const containerName = (serverId: string) => `parley-${serverId}`;
export const dataVolumeName = (serverId: string) => `parley-${serverId}-data`;
export const configVolumeName = (serverId: string) => `parley-${serverId}-config`;

export interface DockerContainerRuntimeOptions {
  /** Bound on one exec (prosodyctl): the process may outlive it, the caller does not wait. */
  execTimeoutMs?: number;
  /** Written on every object as parley.node. */
  nodeName?: string;
  /** A client without a request timeout, for the event stream (idle for hours by design). */
  eventsClient?: Docker;
  /**
   * How a server's container is found: by its name (containers this runtime creates), or by its
   * labels (a Swarm task's container, whose name and id change with every task: the running one,
   * else the newest).
   */
  locate?: 'name' | 'labels';
}

const EVENT_RECONNECT_MIN_MS = 250;
const EVENT_RECONNECT_MAX_MS = 5_000;

export class DockerContainerRuntime implements ContainerRuntime {
  private readonly execTimeoutMs: number;
  private readonly nodeName: string | undefined;
  private readonly eventsClient: Docker;
  private readonly locate: 'name' | 'labels';
  /** image id -> gid of the prosody group; images are immutable, so this never goes stale. */
  private readonly prosodyGids = new Map<string, number>();
  private readonly networkChecks = new Map<string, Promise<void>>();

  constructor(
    private readonly docker: Docker,
    options: DockerContainerRuntimeOptions = {},
  ) {
    this.execTimeoutMs = options.execTimeoutMs ?? 60_000;
    this.nodeName = options.nodeName;
    this.eventsClient = options.eventsClient ?? docker;
    this.locate = options.locate ?? 'name';
  }

  async ping(): Promise<string> {
    const version = await this.docker.version();
    return `Docker ${version.Version} (API ${version.ApiVersion})`;
  }

  async ensureServer(spec: ServerContainerSpec): Promise<EnsuredServer> {
    validateSpec(spec);
    const clock = phaseClock();
    await clock.time('prepare', async () => {
      await this.ensureTenantNetwork(spec.network);
      await this.ensureVolume(dataVolumeName(spec.serverId), spec.serverId);
      await this.ensureVolume(configVolumeName(spec.serverId), spec.serverId);
    });
    const createOptions = containerCreateOptions(spec, this.nodeName);

    // Each pass observes the engine afresh: a concurrent run, or a crash half-way through an
    // earlier one, leaves a state the next pass recognises and finishes.
    for (let attempt = 1; attempt <= ENSURE_ATTEMPTS; attempt++) {
      if (attempt > 1) await sleep(ENSURE_RETRY_DELAY_MS * attempt);
      const found = await clock.time('create', async () => {
        let existing = await this.inspectOwned(spec.serverId);
        if (existing && existing.Config.Labels?.[LABEL_SPEC_HASH] !== spec.specHash) {
          await this.discard(existing.Id);
          existing = undefined;
        }
        if (existing) return { containerId: existing.Id, reused: true };
        try {
          return { containerId: (await this.docker.createContainer(createOptions)).id, reused: false };
        } catch (error) {
          if (statusOf(error) === 409) return undefined; // created meanwhile (or still being removed)
          throw error;
        }
      });
      if (!found) continue;
      try {
        await clock.time('files', () => this.putFiles(found.containerId, spec.files));
        await clock.time('start', () => this.startContainer(found.containerId));
      } catch (error) {
        if (statusOf(error) === 404) continue; // replaced by a concurrent run with another spec
        throw error;
      }
      return { ...found, phasesMs: clock.totals() };
    }
    throw new Error(`container for server ${spec.serverId} did not settle after ${ENSURE_ATTEMPTS} attempts (concurrent changes?)`);
  }

  async writeFiles(serverId: string, files: ContainerFile[]): Promise<void> {
    validateFiles(files);
    await this.putFiles((await this.requireOwned(serverId)).Id, files);
  }

  async exec(serverId: string, argv: string[], stdin?: string): Promise<ExecResult> {
    if (argv.length === 0) throw new Error('exec needs a command');
    const container = this.docker.getContainer((await this.requireOwned(serverId)).Id);
    const exec = await container.exec({ Cmd: argv, AttachStdin: stdin !== undefined, AttachStdout: true, AttachStderr: true, Tty: false });
    const stream = await exec.start({ hijack: true, stdin: stdin !== undefined });
    const output = collectMultiplexed(stream, this.execTimeoutMs, `${argv[0]} in ${containerName(serverId)}`);
    // Ending our side closes the process's stdin, so a program reading it sees EOF.
    stream.end(stdin ?? undefined);
    const { stdout, stderr } = await output;
    return { exitCode: await exitCodeOf(exec), stdout, stderr };
  }

  async stopServer(serverId: string): Promise<void> {
    const container = this.docker.getContainer((await this.requireOwned(serverId)).Id);
    await ignoreStatus(container.stop({ t: STOP_TIMEOUT_SECONDS }), 304);
  }

  async startServer(serverId: string): Promise<void> {
    const { Id, State } = await this.requireOwned(serverId);
    // Left frozen by a backup whose worker died mid-way: thawing it is starting it.
    if (State.Paused) return ignoreStatus(this.docker.getContainer(Id).unpause(), 409);
    try {
      await this.startContainer(Id);
    } catch (error) {
      // Refused because the container is being removed: for the caller it is already gone.
      if (statusOf(error) === 409) {
        const state = (await this.inspectOwned(serverId).catch(() => undefined))?.State.Status;
        if (state === undefined || state === 'removing') throw new ServerContainerNotFoundError(serverId);
      }
      throw error;
    }
  }

  async restartServer(serverId: string): Promise<void> {
    await this.docker.getContainer((await this.requireOwned(serverId)).Id).restart({ t: STOP_TIMEOUT_SECONDS });
  }

  async removeServer(serverId: string): Promise<void> {
    assertServerId(serverId);
    const filters = { label: ownedLabelFilter(serverId) };
    for (const summary of await this.docker.listContainers({ all: true, filters })) {
      // force: the data goes too, so a graceful stop buys nothing.
      await removeContainer(this.docker.getContainer(summary.Id));
    }
    const { Volumes } = await this.docker.listVolumes({ filters });
    for (const volume of Volumes ?? []) {
      await ignoreStatus(this.docker.getVolume(volume.Name).remove(), 404);
    }
  }

  async missingFiles(owned: OwnedContainer, paths: string[]): Promise<string[]> {
    validateFiles(paths.map((path) => ({ path, content: '', mode: 0o644 })));
    const container = this.docker.getContainer(owned.id);
    const missing = await Promise.all(
      paths.map(async (path) => {
        try {
          // HEAD on the archive endpoint: a stat, no content, and it works on a stopped container.
          await container.infoArchive({ path: `${CONFIG_DIR}/${path}` });
          return null;
        } catch (error) {
          if (statusOf(error) === 404) return path;
          throw error;
        }
      }),
    );
    // A HEAD answer has no body: a 404 is the same for a missing file and a missing container.
    if (missing.some((path) => path !== null)) {
      await container.inspect().catch((error: unknown) => {
        throw statusOf(error) === 404 ? new ServerContainerNotFoundError(owned.serverId) : error;
      });
    }
    return missing.filter((path): path is string => path !== null);
  }

  async discardContainer(serverId: string): Promise<void> {
    const existing = await this.inspectOwned(serverId);
    if (existing) await this.discard(existing.Id);
  }

  async exportData(serverId: string, sink: Writable, image: string): Promise<{ frozenMs: number }> {
    const info = await this.inspectOwned(serverId);
    if (!info) {
      await this.volumeReader(serverId, image, (reader) => this.spoolData(reader, false, sink));
      return { frozenMs: 0 };
    }
    return this.spoolData(this.docker.getContainer(info.Id), info.State.Running && !info.State.Paused, sink);
  }

  /** Reads the data volume through `container`, frozen meanwhile when `freeze`, spooled into `sink`. */
  private async spoolData(container: Docker.Container, freeze: boolean, sink: Writable): Promise<{ frozenMs: number }> {
    // The archive is read into memory (up to a bound) while the container is frozen, and the sink
    // (restic, slower) drains it afterwards: the freeze lasts as long as the engine's read.
    const spool = new PassThrough({ highWaterMark: SPOOL_BYTES });
    const drained = pipeline(spool, sink, { end: false });
    // A sink that fails early (restic gave up) must not be an unhandled rejection while the engine
    // is still being asked for the archive; it is awaited, and rethrown, below.
    void drained.catch(() => undefined);
    const frozenAt = Date.now();
    let frozenMs = 0;
    if (freeze) await container.pause();
    try {
      // `/.`: the directory's contents as `./…`, which replaceData puts back where they were.
      const archive = await container.getArchive({ path: `${DATA_DIR}/.` });
      await pipeline(archive, spool);
    } catch (error) {
      spool.destroy();
      throw error;
    } finally {
      // 409: not paused (any more); the engine thaws nothing twice.
      if (freeze) {
        await ignoreStatus(container.unpause(), 409);
        frozenMs = Date.now() - frozenAt;
      }
    }
    await drained;
    return { frozenMs };
  }

  /**
   * A created (never started) container with only the server's data volume, read-only and without
   * a network, for reading the volume of a server whose own container is gone. It carries no
   * Parley labels, so nothing takes it for the server's; one left by a crash is replaced.
   */
  private async volumeReader<T>(serverId: string, image: string, read: (container: Docker.Container) => Promise<T>): Promise<T> {
    const volume = dataVolumeName(serverId);
    let labels: Record<string, string> | null | undefined;
    try {
      labels = (await this.docker.getVolume(volume).inspect()).Labels;
    } catch (error) {
      throw statusOf(error) === 404 ? new ServerContainerNotFoundError(serverId) : error;
    }
    if (!isOwned(labels, serverId)) throw new ForeignObjectError(`volume ${volume} exists but is not labelled as Parley's (${LABEL_SERVER}=${serverId}): left untouched`);
    const name = `${containerName(serverId)}-reader`;
    await ignoreStatus(this.docker.getContainer(name).remove({ force: true }), 404);
    const reader = await this.docker.createContainer({
      name,
      Image: image,
      User: PROSODY_USER,
      NetworkDisabled: true,
      HostConfig: { NetworkMode: 'none', ReadonlyRootfs: true, Mounts: [{ Type: 'volume', Source: volume, Target: DATA_DIR, ReadOnly: true }] },
    });
    try {
      return await read(reader);
    } finally {
      await ignoreStatus(reader.remove({ force: true }), 404);
    }
  }

  async replaceData(spec: ServerContainerSpec, source: Readable): Promise<{ containerId: string }> {
    validateSpec(spec);
    const existing = await this.inspectOwned(spec.serverId);
    if (existing) await this.discard(existing.Id);
    // A new volume is the only way to drop every file of the old data, including ones the copy lacks.
    await ignoreStatus(this.docker.getVolume(dataVolumeName(spec.serverId)).remove(), 404);
    await this.ensureTenantNetwork(spec.network);
    await this.ensureVolume(dataVolumeName(spec.serverId), spec.serverId);
    await this.ensureVolume(configVolumeName(spec.serverId), spec.serverId);
    const containerId = (await this.docker.createContainer(containerCreateOptions(spec, this.nodeName))).id;
    await this.putFiles(containerId, spec.files);
    await this.docker.getContainer(containerId).putArchive(source, { path: DATA_DIR });
    await this.startContainer(containerId);
    return { containerId };
  }

  async runDataTool(run: DataToolRun): Promise<DataToolResult> {
    if (run.argv.length === 0) throw new Error('runDataTool needs a command');
    const badName = run.files.find((file) => !DATA_TOOL_FILE.test(file.path));
    if (badName) throw new Error(`invalid data tool file name "${badName.path.slice(0, 100)}": a plain name in the data directory`);
    await this.removeStaleDataTools();
    const container = await this.docker.createContainer({
      name: `parley-data-tool-${randomUUID()}`,
      Image: run.image,
      User: PROSODY_USER,
      Entrypoint: run.argv.slice(0, 1),
      Cmd: run.argv.slice(1),
      Labels: { [LABEL_ROLE]: DATA_TOOL_ROLE, ...(this.nodeName ? { [LABEL_NODE]: this.nodeName } : {}) },
      NetworkDisabled: true,
      HostConfig: {
        NetworkMode: 'none',
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=16m', '/run/prosody': 'rw,noexec,nosuid,nodev,size=1m' },
        // Anonymous: the image's data directory copied into a volume removed with the container.
        Mounts: [{ Type: 'volume', Source: '', Target: DATA_DIR }],
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Memory: DATA_TOOL_LIMITS.memoryBytes,
        MemorySwap: DATA_TOOL_LIMITS.memoryBytes,
        PidsLimit: DATA_TOOL_LIMITS.pidsLimit,
      },
    });
    try {
      if (run.input) await container.putArchive(run.input, { path: DATA_DIR });
      if (run.files.length > 0) {
        const files = run.files.map((file) => tarFileEntry(file.path, Buffer.from(file.content, 'utf8'), { mode: 0o644, uid: 0, gid: 0 }));
        await container.putArchive(closedTar(files), { path: DATA_DIR });
      }
      await container.start();
      const exitCode = await waitForExit(container, run.timeoutMs, run.argv[0] ?? '');
      const logs = await container.logs({ stdout: true, stderr: true, follow: false, tail: 100 });
      const output = await readBounded(await container.getArchive({ path: `${DATA_DIR}/.` }), run.maxOutputBytes);
      return { exitCode, log: demultiplexed(logs).slice(-DATA_TOOL_LIMITS.logBytes), output };
    } finally {
      // v: the anonymous data volume goes with it.
      await ignoreStatus(container.remove({ force: true, v: true }), 404, 409);
    }
  }

  private async removeStaleDataTools(): Promise<void> {
    const stale = (await this.docker.listContainers({ all: true, filters: { label: [`${LABEL_ROLE}=${DATA_TOOL_ROLE}`] } })).filter(
      (summary) => summary.Created * 1000 < Date.now() - DATA_TOOL_STALE_MS && (!this.nodeName || summary.Labels[LABEL_NODE] === this.nodeName),
    );
    for (const summary of stale) await ignoreStatus(this.docker.getContainer(summary.Id).remove({ force: true, v: true }), 404, 409);
  }

  watchEvents(handlers: { onEvent(event: ContainerEvent): void; onConnected(): void; onError(error: unknown): void }): EventSubscription {
    let stopped = false;
    let current: NodeJS.ReadableStream | undefined;
    let delay = EVENT_RECONNECT_MIN_MS;
    const filters = { type: ['container' as const], label: [`${LABEL_MANAGED}=true`], event: [...CONTAINER_EVENT_ACTIONS] };
    const reconnect = () => {
      if (stopped) return;
      setTimeout(connect, delay).unref();
      delay = Math.min(delay * 2, EVENT_RECONNECT_MAX_MS);
    };
    const connect = () => {
      if (stopped) return;
      this.eventsClient.getEvents({ filters }).then(
        (stream) => {
          if (stopped) return destroyStream(stream);
          current = stream;
          delay = EVENT_RECONNECT_MIN_MS;
          handlers.onConnected();
          let buffer = '';
          stream.on('data', (chunk: Buffer | string) => {
            buffer += chunk.toString();
            const lines = buffer.split('\n');
            buffer = lines.pop() ?? '';
            for (const line of lines) {
              const event = parseContainerEvent(line);
              if (event) handlers.onEvent(event);
            }
          });
          stream.on('error', (error: unknown) => handlers.onError(error));
          // The engine ends the stream when it stops or restarts: connect again.
          stream.on('close', reconnect);
        },
        (error: unknown) => {
          handlers.onError(error);
          reconnect();
        },
      );
    };
    connect();
    return {
      stop: () => {
        stopped = true;
        if (current) destroyStream(current);
      },
    };
  }

  async listOwned(serverId?: string): Promise<OwnedObjects> {
    if (serverId !== undefined) assertServerId(serverId);
    const filters = { label: serverId === undefined ? [`${LABEL_MANAGED}=true`] : ownedLabelFilter(serverId) };
    const [containers, { Volumes }] = await Promise.all([
      // One server: inspect, which is current. The list is served from a copy the engine updates
      // a moment after it reports an event, so right after a "die" it still says "running".
      serverId === undefined ? this.listedContainers(filters) : this.inspectedContainer(serverId),
      this.docker.listVolumes({ filters }),
    ]);
    return {
      containers,
      volumes: (Volumes ?? []).map((v) => ({ name: v.Name, serverId: v.Labels?.[LABEL_SERVER] ?? '', node: v.Labels?.[LABEL_NODE] ?? null })),
    };
  }

  private async listedContainers(filters: { label: string[] }): Promise<OwnedObjects['containers']> {
    const containers = await this.docker.listContainers({ all: true, filters });
    return containers.map((c) => ({
      id: c.Id,
      serverId: c.Labels[LABEL_SERVER] ?? '',
      specHash: c.Labels[LABEL_SPEC_HASH] ?? '',
      state: c.State as ContainerState,
      ports: c.Ports.filter((p) => p.PublicPort).map((p) => ({ containerPort: p.PrivatePort, hostPort: p.PublicPort, hostIp: p.IP })),
      node: c.Labels[LABEL_NODE] ?? null,
      address: firstAddress(c.NetworkSettings.Networks),
    }));
  }

  private async inspectedContainer(serverId: string): Promise<OwnedObjects['containers']> {
    const info = await this.inspectOwned(serverId);
    if (!info) return [];
    const labels = info.Config.Labels ?? {};
    // Published ports are listed only while the container runs, as in the engine's own list.
    const bindings = info.State.Running ? Object.entries(info.NetworkSettings.Ports ?? {}) : [];
    return [
      {
        id: info.Id,
        serverId,
        specHash: labels[LABEL_SPEC_HASH] ?? '',
        state: info.State.Status as ContainerState,
        ports: bindings.flatMap(([key, hostBindings]) =>
          (hostBindings ?? []).map((b) => ({ containerPort: Number(key.split('/')[0]), hostPort: Number(b.HostPort), hostIp: b.HostIp })),
        ),
        node: labels[LABEL_NODE] ?? null,
        address: info.State.Running ? firstAddress(info.NetworkSettings.Networks) : null,
      },
    ];
  }

  async publishedHostPorts(): Promise<ReadonlySet<number>> {
    const containers = await this.docker.listContainers({ all: true });
    const ports = new Set<number>();
    for (const summary of containers) {
      for (const binding of summary.Ports) if (binding.PublicPort) ports.add(binding.PublicPort);
    }
    return ports;
  }

  pruneElsewhere(): Promise<number> {
    return Promise.resolve(0);
  }

  /** One engine is one machine: when it is down, nothing answers to say so. */
  downNodes(): Promise<ReadonlySet<string>> {
    return Promise.resolve(new Set());
  }

  /** The server's container by its deterministic name, if it exists and carries our labels. */
  private async inspectOwned(serverId: string): Promise<Docker.ContainerInspectInfo | undefined> {
    assertServerId(serverId);
    let info: Docker.ContainerInspectInfo;
    try {
      const id = this.locate === 'name' ? containerName(serverId) : await this.labelledContainerId(serverId);
      if (id === undefined) return undefined;
      info = await this.docker.getContainer(id).inspect();
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
    if (!isOwned(info.Config.Labels, serverId)) {
      throw new ForeignObjectError(`container ${containerName(serverId)} exists but is not labelled as Parley's (${LABEL_SERVER}=${serverId}): left untouched`);
    }
    return info;
  }

  /** The running container with the server's labels, else the newest (a stopped task's). */
  private async labelledContainerId(serverId: string): Promise<string | undefined> {
    const containers = await this.docker.listContainers({ all: true, filters: { label: ownedLabelFilter(serverId) } });
    const newestFirst = containers.sort((a, b) => b.Created - a.Created);
    return (newestFirst.find((c) => c.State === 'running' || c.State === 'paused') ?? newestFirst[0])?.Id;
  }

  /**
   * For a runtime that starts the server elsewhere (a Swarm service): the server's two volumes on
   * this engine, its files in the config volume and, when given, `data` as its whole data volume
   * (made anew), written through a container made for it and never started.
   */
  async stageVolumes(spec: ServerContainerSpec, data?: Readable): Promise<void> {
    validateSpec(spec);
    if (data) await ignoreStatus(this.docker.getVolume(dataVolumeName(spec.serverId)).remove(), 404);
    await this.ensureVolume(dataVolumeName(spec.serverId), spec.serverId);
    await this.ensureVolume(configVolumeName(spec.serverId), spec.serverId);
    const name = `${containerName(spec.serverId)}-stage`;
    await ignoreStatus(this.docker.getContainer(name).remove({ force: true }), 404);
    const { HostConfig } = containerCreateOptions(spec, this.nodeName);
    const stage = await this.docker.createContainer({
      name,
      Image: spec.image,
      User: PROSODY_USER,
      NetworkDisabled: true,
      HostConfig: { NetworkMode: 'none', ReadonlyRootfs: true, Mounts: HostConfig?.Mounts ?? [] },
    });
    try {
      await this.putFiles(stage.id, spec.files);
      if (data) await stage.putArchive(data, { path: DATA_DIR });
    } finally {
      await ignoreStatus(stage.remove({ force: true }), 404);
    }
  }

  /** Removes every container with the server's labels (old Swarm tasks' too); its volumes stay. */
  async removeContainers(serverId: string): Promise<void> {
    assertServerId(serverId);
    for (const summary of await this.docker.listContainers({ all: true, filters: { label: ownedLabelFilter(serverId) } })) {
      await removeContainer(this.docker.getContainer(summary.Id));
    }
  }

  private async requireOwned(serverId: string): Promise<Docker.ContainerInspectInfo> {
    const info = await this.inspectOwned(serverId);
    if (!info) throw new ServerContainerNotFoundError(serverId);
    return info;
  }

  /**
   * The network servers join: created on first use, with inter-container traffic off and its bridge
   * named after it so the node's tenant firewall can match it. An existing one must be Parley's
   * and keep containers apart, or no server joins it.
   */
  private ensureTenantNetwork(name: string): Promise<void> {
    // One look (and creation) at a time per process: the engine's duplicate check is racy, and
    // parallel first orders would otherwise create two networks of one name.
    let pending = this.networkChecks.get(name);
    if (!pending) {
      pending = this.checkTenantNetwork(name).finally(() => this.networkChecks.delete(name));
      this.networkChecks.set(name, pending);
    }
    return pending;
  }

  private async checkTenantNetwork(name: string): Promise<void> {
    let info: Docker.NetworkInspectInfo | undefined = await this.docker
      .getNetwork(name)
      .inspect()
      .catch((error: unknown) => {
        if (statusOf(error) === 404) return undefined;
        throw error;
      });
    if (!info) {
      await ignoreStatus(
        this.docker.createNetwork({
          Name: name,
          Driver: 'bridge',
          CheckDuplicate: true,
          Options: { [BRIDGE_NAME_OPTION]: name, [BRIDGE_ICC_OPTION]: 'false' },
          Labels: { [LABEL_MANAGED]: 'true', [LABEL_ROLE]: TENANT_NETWORK_ROLE },
        }),
        409, // created meanwhile by a concurrent run
      );
      info = await this.docker.getNetwork(name).inspect();
    }
    if (info.Labels?.[LABEL_MANAGED] !== 'true' || info.Labels[LABEL_ROLE] !== TENANT_NETWORK_ROLE) {
      throw new ForeignObjectError(`network ${name} exists but is not labelled as Parley's tenant network: no server joins it`);
    }
    if (info.Options?.[BRIDGE_ICC_OPTION] !== 'false' || info.Options[BRIDGE_NAME_OPTION] !== name) {
      throw new ForeignObjectError(`network ${name} lets containers reach each other, or its bridge is not named ${name}: no server joins it`);
    }
  }

  private async ensureVolume(name: string, serverId: string): Promise<void> {
    // Creating an existing volume returns it unchanged: its labels prove who made it.
    await this.docker.createVolume({ Name: name, Labels: ownedLabels(serverId, this.nodeName) });
    const info = await this.docker.getVolume(name).inspect();
    if (!isOwned(info.Labels, serverId)) {
      throw new ForeignObjectError(`volume ${name} exists but is not labelled as Parley's (${LABEL_SERVER}=${serverId}): left untouched`);
    }
  }

  /** Stops (gracefully, so Prosody flushes) and removes a container we own; volumes stay. */
  private async discard(containerId: string): Promise<void> {
    const container = this.docker.getContainer(containerId);
    await ignoreStatus(container.stop({ t: STOP_TIMEOUT_SECONDS }), 304, 404);
    await removeContainer(container);
  }

  private async startContainer(containerId: string): Promise<void> {
    await ignoreStatus(this.docker.getContainer(containerId).start(), 304);
  }

  private async putFiles(containerId: string, files: ContainerFile[]): Promise<void> {
    if (files.length === 0) return;
    const container = this.docker.getContainer(containerId);
    const gid = files.some((f) => f.secret) ? await this.prosodyGid(container) : 0;
    // Into the config volume (writable mount), so this works on the read-only root filesystem,
    // before the first start as well as on a running container.
    await container.putArchive(tarArchive(files, gid), { path: CONFIG_DIR });
  }

  /** The prosody group's id, read from the image's /etc/group (it differs between base images). */
  private async prosodyGid(container: Docker.Container): Promise<number> {
    const { Image } = await container.inspect();
    const cached = this.prosodyGids.get(Image);
    if (cached !== undefined) return cached;
    const archive = await readBounded(await container.getArchive({ path: '/etc/group' }), 1024 * 1024);
    const line = firstTarFile(archive)
      .toString('utf8')
      .split('\n')
      .find((l) => l.startsWith(`${PROSODY_USER}:`));
    const gid = Number(line?.split(':')[2]);
    if (!line || !Number.isInteger(gid)) throw new Error(`image ${Image} has no "${PROSODY_USER}" group in /etc/group`);
    this.prosodyGids.set(Image, gid);
    return gid;
  }
}

/** The engine-level definition of a server container (exported so tests can stage a crash half-way). */
export function containerCreateOptions(spec: ServerContainerSpec, nodeName?: string): Docker.ContainerCreateOptions {
  const labels = { ...ownedLabels(spec.serverId, nodeName), [LABEL_SPEC_HASH]: spec.specHash };
  const volume = (name: string, target: string, noCopy: boolean): Docker.MountSettings => ({
    Type: 'volume',
    Source: name,
    Target: target,
    // Labels here too: should the volume vanish between ensureVolume and create, the engine
    // recreates it with them instead of leaving an unlabelled one behind.
    VolumeOptions: { NoCopy: noCopy, Labels: ownedLabels(spec.serverId, nodeName), DriverConfig: { Name: 'local', Options: {} } },
  });
  return {
    name: containerName(spec.serverId),
    Image: spec.image,
    User: PROSODY_USER,
    Labels: labels,
    ExposedPorts: Object.fromEntries(spec.ports.map((p) => [`${p.containerPort}/tcp`, {}])),
    HostConfig: {
      ReadonlyRootfs: true,
      // Docker copies the image's directory mode onto a tmpfs: the image makes /run/prosody 1777.
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=16m', '/run/prosody': 'rw,noexec,nosuid,nodev,size=1m' },
      Mounts: [
        // The image's data directory (owned by prosody) is copied into a new data volume.
        volume(dataVolumeName(spec.serverId), DATA_DIR, false),
        // Empty at first, root-owned: only the worker's files, which Prosody cannot rewrite.
        volume(configVolumeName(spec.serverId), CONFIG_DIR, true),
      ],
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Memory: spec.limits.memoryBytes,
      MemorySwap: spec.limits.memoryBytes,
      NanoCpus: spec.limits.nanoCpus,
      PidsLimit: spec.limits.pidsLimit,
      NetworkMode: spec.network,
      ...(spec.dns.length > 0 ? { Dns: spec.dns } : {}),
      PortBindings: Object.fromEntries(
        spec.ports.map((p) => [`${p.containerPort}/tcp`, [{ HostIp: spec.hostIp, HostPort: String(p.hostPort) }]]),
      ),
      RestartPolicy: { Name: 'unless-stopped' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
    },
  };
}

export function ownedLabels(serverId: string, nodeName?: string): Record<string, string> {
  return { [LABEL_SERVER]: serverId, [LABEL_MANAGED]: 'true', ...(nodeName ? { [LABEL_NODE]: nodeName } : {}) };
}

/** One line of the engine's event stream, if it is about one of Parley's server containers. */
export function parseContainerEvent(line: string): ContainerEvent | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { Action, Actor, time } = raw as { Action?: unknown; Actor?: { Attributes?: Record<string, string> }; time?: unknown };
  const serverId = Actor?.Attributes?.[LABEL_SERVER];
  // Health-check actions arrive as "exec_start: ..." and the like: only the plain ones count.
  if (typeof Action !== 'string' || !(CONTAINER_EVENT_ACTIONS as readonly string[]).includes(Action)) return undefined;
  if (!serverId || !SERVER_ID.test(serverId)) return undefined;
  return { serverId, action: Action as ContainerEventAction, at: new Date(typeof time === 'number' ? time * 1000 : Date.now()) };
}

function destroyStream(stream: NodeJS.ReadableStream): void {
  (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
}

export function ownedLabelFilter(serverId: string): string[] {
  return [`${LABEL_MANAGED}=true`, `${LABEL_SERVER}=${serverId}`];
}

function isOwned(labels: Record<string, string> | null | undefined, serverId: string): boolean {
  return labels?.[LABEL_MANAGED] === 'true' && labels[LABEL_SERVER] === serverId;
}

export function assertServerId(serverId: string): void {
  if (!SERVER_ID.test(serverId)) throw new Error(`invalid server id "${serverId.slice(0, 80)}": lowercase letters, digits and hyphens only`);
}

export function validateSpec(spec: ServerContainerSpec): void {
  assertServerId(spec.serverId);
  if (!spec.image) throw new Error('spec.image is empty');
  if (!/^[A-Za-z0-9._-]{1,63}$/.test(spec.specHash)) throw new Error('spec.specHash must be a short token (letters, digits, . _ -)');
  // Publishing on the unspecified address would expose the port on every interface.
  if (isIP(spec.hostIp) === 0 || spec.hostIp === '0.0.0.0' || /^[0:]+$/.test(spec.hostIp)) {
    throw new Error(`spec.hostIp must be one explicit IP address, got "${spec.hostIp}"`);
  }
  // Docker's own networks (bridge, host, none) would share a network with other tenants or the host.
  if (!TENANT_NETWORK_NAME.test(spec.network) || ['bridge', 'host', 'none'].includes(spec.network)) {
    throw new Error(`spec.network must name Parley's tenant network (1-15 lowercase letters, digits, hyphens), got "${spec.network}"`);
  }
  if (spec.dns.some((address) => isIP(address) === 0)) throw new Error(`spec.dns must list IP addresses, got ${JSON.stringify(spec.dns)}`);
  for (const { containerPort, hostPort } of spec.ports) {
    for (const port of [containerPort, hostPort]) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid port ${port} in spec.ports`);
    }
  }
  const { memoryBytes, nanoCpus, pidsLimit } = spec.limits;
  for (const [name, value] of Object.entries({ memoryBytes, nanoCpus, pidsLimit })) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`spec.limits.${name} must be a positive integer, got ${value}`);
  }
  validateFiles(spec.files);
}

function validateFiles(files: ContainerFile[]): void {
  for (const file of files) {
    if (!file.path.split('/').every((segment) => FILE_SEGMENT.test(segment)) || file.path.length > 99) {
      throw new Error(`invalid file path "${file.path}": relative, plain names only`);
    }
    if (!Number.isInteger(file.mode) || file.mode < 0 || file.mode > 0o777) throw new Error(`invalid mode for ${file.path}`);
    if (file.secret && (file.mode & 0o007) !== 0) throw new Error(`secret file ${file.path} must not be accessible to others (mode ${file.mode.toString(8)})`);
  }
}

export function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : undefined;
}

/**
 * Force-removes a container. When another removal of it is already under way (the engine answers
 * 409: a deletion racing the reconcile pass), waits until that one is done, so what comes next
 * (removing its volumes, creating its successor) does not find it still in use.
 */
async function removeContainer(container: Docker.Container): Promise<void> {
  try {
    await container.remove({ force: true });
  } catch (error) {
    if (statusOf(error) === 404) return;
    if (statusOf(error) !== 409) throw error;
    await ignoreStatus(container.wait({ condition: 'removed', abortSignal: AbortSignal.timeout(REMOVAL_WAIT_MS) }), 404);
  }
}

/** Awaits a Docker call, treating the given HTTP statuses ("already so") as success. */
export async function ignoreStatus(call: Promise<unknown>, ...statuses: number[]): Promise<void> {
  try {
    await call;
  } catch (error) {
    const status = statusOf(error);
    if (status === undefined || !statuses.includes(status)) throw error;
  }
}

/**
 * Splits Docker's multiplexed exec stream (8-byte frame headers: stream type, 3 zero bytes,
 * big-endian length) into stdout and stderr, bounded in size and time.
 */
function collectMultiplexed(stream: Duplex, timeoutMs: number, what: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let pending = Buffer.alloc(0);
    let total = 0;
    const timer = setTimeout(() => fail(new Error(`${what} did not finish within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      stream.destroy();
      reject(error);
    };
    stream.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > 2 * MAX_EXEC_OUTPUT_BYTES) return fail(new Error(`${what} wrote more than ${MAX_EXEC_OUTPUT_BYTES} bytes`));
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 8) {
        const length = pending.readUInt32BE(4);
        if (pending.length < 8 + length) break;
        (pending[0] === 2 ? err : out).push(pending.subarray(8, 8 + length));
        pending = pending.subarray(8 + length);
      }
    });
    stream.on('error', fail);
    stream.on('end', () => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** The container's exit code once it exits; past `timeoutMs` it is killed and the run fails. */
export async function waitForExit(container: Docker.Container, timeoutMs: number, what: string): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const { StatusCode } = (await Promise.race([container.wait(), timedOut])) as { StatusCode: number };
    return StatusCode;
  } finally {
    clearTimeout(timer);
  }
}

/** The text of a non-TTY container's log (frames: stream type, 3 zero bytes, big-endian length). */
export function demultiplexed(log: Buffer): string {
  const parts: Buffer[] = [];
  for (let offset = 0; offset + 8 <= log.length; ) {
    const length = log.readUInt32BE(offset + 4);
    parts.push(log.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** The exit code, once the engine has recorded it (it may lag the end of the output briefly). */
async function exitCodeOf(exec: Docker.Exec): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) return info.ExitCode;
    await sleep(20);
  }
  throw new Error('exec finished its output but reported no exit code');
}

/** Files owned by root; secret ones group-owned by `secretGid`; parent directories root 0755. */
function tarArchive(files: ContainerFile[], secretGid: number): Buffer {
  const parts: Buffer[] = [];
  const directories = new Set<string>();
  for (const file of files) {
    const segments = file.path.split('/');
    for (let i = 1; i < segments.length; i++) directories.add(`${segments.slice(0, i).join('/')}/`);
  }
  for (const directory of directories) parts.push(tarHeader(directory, { mode: 0o755, uid: 0, gid: 0, size: 0, type: '5' }));
  for (const file of files) {
    parts.push(tarFileEntry(file.path, Buffer.from(file.content, 'utf8'), { mode: file.mode, uid: 0, gid: file.secret ? secretGid : 0 }));
  }
  return closedTar(parts);
}

function firstAddress(networks: Record<string, { IPAddress?: string }> | undefined): string | null {
  return Object.values(networks ?? {}).find((n) => n.IPAddress)?.IPAddress ?? null;
}
