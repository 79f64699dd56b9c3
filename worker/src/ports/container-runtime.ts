import type { Readable, Writable } from 'node:stream';

/** A file written into a server's config volume (mounted at /etc/parley). */
export interface ContainerFile {
  /** Relative to /etc/parley, e.g. `prosody.cfg.lua` or `certs/chat.example.com.key`. */
  path: string;
  content: string;
  /** Permission bits; files are owned by root, so Prosody can read but never rewrite them. */
  mode: number;
  /** Private keys: group-owned by the image's prosody group, and must not be world-readable. */
  secret?: boolean;
}

/** A tenant network's name, which is also its bridge interface's: Linux allows 15 characters. */
export const TENANT_NETWORK_NAME = /^[a-z][a-z0-9-]{0,14}$/;

/** Everything that defines one server's container; `specHash` decides "already done". */
export interface ServerContainerSpec {
  serverId: string;
  /** The node (by name) the server runs on: where a runtime of many nodes puts it. */
  node: string;
  image: string;
  specHash: string;
  /** The one address ports are published on; never 0.0.0.0 or ::. */
  hostIp: string;
  /**
   * The node's tenant network: a bridge on which containers cannot reach each other (and whose
   * traffic the node's tenant firewall confines), joined by every server's container.
   */
  network: string;
  /** Name servers the container resolves through; empty: Docker's default (the host's resolvers). */
  dns: string[];
  ports: { containerPort: number; hostPort: number }[];
  limits: { memoryBytes: number; nanoCpus: number; pidsLimit: number };
  files: ContainerFile[];
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface PublishedPort {
  containerPort: number;
  hostPort: number;
  hostIp: string;
}

/** A container as `listOwned` found it: carrying Parley's labels, so it is Parley's to look into. */
export interface OwnedContainer {
  id: string;
  serverId: string;
  specHash: string;
  state: ContainerState;
  ports: PublishedPort[];
  node: string | null;
  /** Its address on its network, reachable from its node (null while it is not running). */
  address: string | null;
}

export interface OwnedObjects {
  containers: OwnedContainer[];
  volumes: { name: string; serverId: string; node: string | null }[];
}

/** Engine events about Parley's containers that can change what a server's health is. */
// Not 'kill': it comes before the process has exited, and 'die' follows it.
export const CONTAINER_EVENT_ACTIONS = ['start', 'die', 'oom', 'stop', 'destroy'] as const;
export type ContainerEventAction = (typeof CONTAINER_EVENT_ACTIONS)[number];

export interface ContainerEvent {
  serverId: string;
  action: ContainerEventAction;
  at: Date;
}

/** A program of the XMPP server's image run on a copy of data, away from every server (see runDataTool). */
export interface DataToolRun {
  image: string;
  /** A data directory as exportData writes it (a tar stream, entries `./…`); none: an empty one. */
  input?: Readable;
  /** Files put into the data directory besides, by plain name (a tool's configuration, say). */
  files: { path: string; content: string }[];
  argv: string[];
  timeoutMs: number;
  /** Bound on the data directory read back; a larger one fails the run. */
  maxOutputBytes: number;
}

export interface DataToolResult {
  exitCode: number;
  /** The end of what the program wrote (stdout and stderr), for the operator. */
  log: string;
  /** The data directory after the run, as a tar archive (entries `./…`). */
  output: Buffer;
}

export interface EventSubscription {
  stop(): void;
}

/**
 * The parts of starting a server's container, each timed by `ensureServer`: `prepare` (its network
 * and volumes; on a Swarm, the image copied to its node), `create` (finding the container or service
 * and creating it), `files` (its config and certificate written; on a Swarm, staged onto its
 * volumes), `start` (until the engine says it runs). A runtime reports the phases it has.
 */
export type EnsurePhase = 'prepare' | 'create' | 'files' | 'start';

export interface EnsuredServer {
  containerId: string;
  reused: boolean;
  /** Milliseconds per phase. */
  phasesMs: Partial<Record<EnsurePhase, number>>;
}

/**
 * Where Parley's XMPP containers run: one Docker engine, or a Docker Swarm's nodes. Every object
 * it creates is labelled with the server's id, and it never touches an object it cannot prove
 * it owns.
 */
export interface ContainerRuntime {
  /** Read-only reachability check; resolves with the engine's version. */
  ping(): Promise<string>;

  /**
   * Idempotent: creates spec.network when missing (refusing one that is not Parley's, or that lets
   * containers reach each other); reuses the server's container when its spec hash matches (starting it if
   * stopped), replaces it (keeping the volumes) when it differs; (re)writes spec.files each time.
   */
  ensureServer(spec: ServerContainerSpec): Promise<EnsuredServer>;

  /** Idempotent: overwrites the files in the config volume; Prosody sees them at its next reload. */
  writeFiles(serverId: string, files: ContainerFile[]): Promise<void>;

  /** Not idempotent by itself (runs argv in the running container); stdin never appears in argv. */
  exec(serverId: string, argv: string[], stdin?: string): Promise<ExecResult>;

  /** Idempotent: an already stopped container is success; a missing one is an error. */
  stopServer(serverId: string): Promise<void>;

  /** Idempotent: an already running container is success; a missing one is an error. */
  startServer(serverId: string): Promise<void>;

  /** Restarts (or starts) the container; a missing one is an error. */
  restartServer(serverId: string): Promise<void>;

  /** Idempotent: removes every container and volume labelled with the server; "already gone" is success. */
  removeServer(serverId: string): Promise<void>;

  /**
   * Read-only: which of these paths (relative to the config volume) are missing from it. Takes a
   * container from `listOwned`, so a pass over many servers costs one engine call per file.
   */
  missingFiles(container: OwnedContainer, paths: string[]): Promise<string[]>;

  /** Removes the server's container only; its volumes (the customer's data) stay. */
  discardContainer(serverId: string): Promise<void>;

  /**
   * Writes the server's data volume into `sink` as a tar stream (entries `./…`, owners kept),
   * leaving `sink` open. A running container is frozen (docker pause) while it is read, so the
   * copy is the data of one instant even while clients write; resolves with how long that was.
   * A server whose container is gone but whose data volume is not is read through a container of
   * `image` made for the read (never started) and removed after it.
   */
  exportData(serverId: string, sink: Writable, image: string): Promise<{ frozenMs: number }>;

  /**
   * Replaces the server's data with a tar stream as exportData writes it: the container is
   * discarded, the data volume made anew, and a container created from `spec` gets the data
   * before its first start. Idempotent: running it again with the same stream gives the same.
   */
  replaceData(spec: ServerContainerSpec, source: Readable): Promise<{ containerId: string }>;

  /**
   * Runs `argv` in a container of its own made for the run: no network, nothing of any server
   * mounted, the data it is given in a scratch directory at the data directory's place, which is
   * read back when it exits. The container and its data are removed whatever happens.
   */
  runDataTool(run: DataToolRun): Promise<DataToolResult>;

  /** Read-only: Parley's containers and volumes, for one server or all, in one engine call each. */
  listOwned(serverId?: string): Promise<OwnedObjects>;

  /**
   * Follows the engine's events about Parley's containers until stopped, reconnecting after the
   * engine restarts. `onConnected` runs at every (re)connection: events missed meanwhile are
   * only found by looking again.
   */
  watchEvents(handlers: { onEvent(event: ContainerEvent): void; onConnected(): void; onError(error: unknown): void }): EventSubscription;

  /**
   * Read-only: host ports that any container on the engine publishes, Parley's or not, so
   * allocation never hands out a port the engine would refuse to bind.
   */
  publishedHostPorts(): Promise<ReadonlySet<number>>;

  /**
   * Read-only: the nodes (by name) this runtime places servers on that are down now, whose
   * servers cannot run until the node returns or they are restored elsewhere.
   */
  downNodes(): Promise<ReadonlySet<string>>;

  /**
   * Removes a live server's objects from every node but `node`, the one it runs on: the copy a
   * node kept while it was down and the server was restored elsewhere. Returns how many nodes held
   * one. One engine is one node: there is nothing elsewhere.
   */
  pruneElsewhere(serverId: string, node: string): Promise<number>;
}

/** An object with Parley's name exists without Parley's labels: somebody else's, never touched. */
export class ForeignObjectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForeignObjectError';
  }
}

export class ServerContainerNotFoundError extends Error {
  constructor(serverId: string) {
    super(`server ${serverId} has no container`);
    this.name = 'ServerContainerNotFoundError';
  }
}
