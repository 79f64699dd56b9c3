import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { tearDownAll } from './tear-down.js';
import { unlessGone } from './unless-gone.js';
import { until } from './until.js';

const execFileAsync = promisify(execFile);

/** On every host object a cluster makes, valued with its name prefix: leftovers are findable. */
export const LABEL_SWARM_TEST = 'parley.swarm-test';
/** The node label services are pinned by (`node.labels.parley.node==n2`). */
export const NODE_LABEL = 'parley.node';

// Capability numbers of the kernel's bounding set (capability.h). Bits 38 and up (PERFMON, BPF,
// CHECKPOINT_RESTORE) are left out: Docker 20.10 does not know their names and refuses them.
const CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
] as const;

const SUBNET_RANGE = { prefix: '10.214', first: 1, last: 254 };
const SUBNET_ATTEMPTS = 8;
/** Node i (0-based) gets this host number in the subnet; .1 is the bridge's. */
const FIRST_NODE_HOST = 11;
const SWARM_PORT = 2377;
const CLIENT_TIMEOUT_MS = 120_000;

export interface SwarmClusterOptions {
  /** Docker client of the host engine. */
  host: Docker;
  /** Node image (infra/swarm-node/build.sh, SWARM_NODE_IMAGE). */
  nodeImage: string;
  /** How many nodes: the first is the manager, the rest workers. */
  nodes: number;
  /** An IPv4 /24 of the cluster's own; by default a free 10.214.N.0/24. */
  subnet?: string;
  /** Host images loaded into every node's engine (or the manager's only: `imagesOnManagerOnly`). */
  images?: string[];
  /** The images on the manager alone, as where Parley builds them: the platform copies them on. */
  imagesOnManagerOnly?: boolean;
  /** Extra dockerd flags of every node (a daemon default a spike wants to try). */
  dockerdArgs?: string[];
  /** The managers' dispatcher heartbeat: a dead node is marked Down after a few of these. */
  heartbeatSeconds?: number;
  /** Bound on each stage of start(): engines up, swarm formed, images loaded. */
  stageTimeoutMs?: number;
  /** false: only the manager forms the swarm; the others are left for a test to join. */
  joinWorkers?: boolean;
}

export interface SwarmNode {
  /** Short name (n1, n2, …): the node's hostname and its parley.node label. */
  name: string;
  /** Host container name. */
  container: string;
  ip: string;
  role: 'manager' | 'worker';
  /** The node's own engine, through the socket its dockerd also listens on in a host folder. */
  docker: Docker;
  /** That socket's path on the host. */
  socketPath: string;
  /** Swarm node ID ('' while the node is in no swarm). */
  id: string;
}

/** Milliseconds each stage of start() took, for reports. */
export interface SwarmStartTimings {
  enginesMs: number;
  swarmMs: number;
  imagesMs: number;
  totalMs: number;
}

/**
 * A Docker Swarm of Docker-in-Docker nodes on one bridge network of its own. The host engine
 * stays out of any swarm; every object made here is named with one random prefix, labelled, and
 * removed by close(), also after a failed start.
 */
export class SwarmCluster {
  readonly nodes: SwarmNode[] = [];
  timings: SwarmStartTimings = { enginesMs: 0, swarmMs: 0, imagesMs: 0, totalMs: 0 };
  private readonly containers: string[] = [];
  private readonly volumes: string[] = [];
  private network: string | undefined;
  private dir: string | undefined;
  /** The node network's subnet (chosen at start unless given). */
  subnet = '';

  private constructor(
    private readonly host: Docker,
    readonly prefix: string,
    private readonly stageTimeoutMs: number,
  ) {}

  static async start(options: SwarmClusterOptions): Promise<SwarmCluster> {
    if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > 20) throw new Error(`nodes must be 1-20, got ${options.nodes}`);
    const cluster = new SwarmCluster(options.host, `parley-swarm-${randomBytes(3).toString('hex')}`, options.stageTimeoutMs ?? 60_000);
    try {
      await cluster.boot(options);
    } catch (error) {
      await cluster.close().catch((closeError: unknown) => {
        throw new AggregateError([error, closeError], 'swarm cluster failed to start, and its cleanup failed too');
      });
      throw error;
    }
    return cluster;
  }

  get manager(): SwarmNode {
    const manager = this.nodes[0];
    if (!manager) throw new Error('the cluster has no nodes');
    return manager;
  }

  node(name: string): SwarmNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name} in ${this.prefix}`);
    return node;
  }

  /** SIGKILL to the node container: its engine and every task on it die at once, like a power cut. */
  async kill(name: string): Promise<void> {
    await this.host.getContainer(this.node(name).container).kill();
  }

  /** Starts a killed node again and waits until its engine answers and the manager sees it Ready. */
  async restart(name: string): Promise<void> {
    const node = this.node(name);
    await this.host.getContainer(node.container).start();
    await this.waitForEngine(node);
    // A node that joined after start() (a test's own join) is learned from its engine.
    node.id ||= ((await node.docker.info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;
    await until(`node ${name} Ready again`, async () => ((await this.nodeState(node.id)) === 'ready' ? true : null), this.stageTimeoutMs, 100);
  }

  /** The manager's view of a node: ready, down, unknown, disconnected. */
  async nodeState(id: string): Promise<string | undefined> {
    const info = (await this.manager.docker.getNode(id).inspect()) as { Status?: { State?: string } };
    return info.Status?.State;
  }

  /** Removes every container, volume, network and folder this cluster made. */
  async close(): Promise<void> {
    const containers = [...this.containers];
    const volumes = [...this.volumes];
    await tearDownAll([
      // Together: each forced removal kills a node's whole process tree, tasks included.
      () => Promise.all(containers.map((c) => this.host.getContainer(c).remove({ force: true, v: true }).catch(unlessGone))),
      () => Promise.all(volumes.map((v) => this.host.getVolume(v).remove().catch(unlessGone))),
      async () => {
        if (this.network) await this.host.getNetwork(this.network).remove().catch(unlessGone);
      },
      async () => {
        if (this.dir) await rm(this.dir, { recursive: true, force: true });
      },
    ]);
    this.containers.length = 0;
    this.volumes.length = 0;
    this.network = undefined;
    this.dir = undefined;
  }

  private async boot(options: SwarmClusterOptions): Promise<void> {
    const started = Date.now();
    this.dir = await mkdtemp(join(tmpdir(), `${this.prefix}-`));
    await this.createNetwork(options.subnet);
    const capabilities = await boundingCapabilities();
    const base = this.subnet.split('/')[0]?.split('.').slice(0, 3).join('.') ?? '';
    const specs = Array.from({ length: options.nodes }, (_, i) => ({
      name: `n${i + 1}`,
      ip: `${base}.${FIRST_NODE_HOST + i}`,
      role: i === 0 ? ('manager' as const) : ('worker' as const),
    }));
    const nodes = await Promise.all(specs.map((spec) => this.startNode(spec, options, capabilities)));
    this.nodes.push(...nodes);
    await Promise.all(this.nodes.map((node) => this.waitForEngine(node)));
    const enginesAt = Date.now();

    // Images stream into the nodes while the swarm forms: neither waits for the other.
    let imagesMs = 0;
    const images = this.loadImages(options.images ?? [], options.imagesOnManagerOnly ? [this.manager] : this.nodes).then(() => {
      imagesMs = Date.now() - enginesAt;
    });
    let swarmMs = 0;
    const swarm = this.formSwarm(options.heartbeatSeconds ?? 1, options.joinWorkers ?? true).then(() => {
      swarmMs = Date.now() - enginesAt;
    });
    const [imagesResult, swarmResult] = await Promise.allSettled([images, swarm]);
    if (swarmResult.status === 'rejected') throw swarmResult.reason;
    if (imagesResult.status === 'rejected') throw imagesResult.reason;
    this.timings = { enginesMs: enginesAt - started, swarmMs, imagesMs, totalMs: Date.now() - started };
  }

  private async createNetwork(requested: string | undefined): Promise<void> {
    const name = `${this.prefix}-net`;
    const candidates = requested ? [requested] : await freeSubnets(this.host, SUBNET_ATTEMPTS);
    if (candidates.length === 0) throw new Error(`no free ${SUBNET_RANGE.prefix}.N.0/24 left for a swarm test network`);
    for (const subnet of candidates) {
      try {
        await this.host.createNetwork({
          Name: name,
          Driver: 'bridge',
          CheckDuplicate: true,
          IPAM: { Config: [{ Subnet: subnet }] },
          Labels: { [LABEL_SWARM_TEST]: this.prefix },
        });
        this.network = name;
        this.subnet = subnet;
        return;
      } catch (error) {
        // Taken between the look and the create (another test's cluster): try the next one.
        if (!requested && /overlap/i.test(String(error))) continue;
        throw error;
      }
    }
    throw new Error(`every candidate subnet overlapped another network: ${candidates.join(', ')}`);
  }

  private async startNode(
    spec: { name: string; ip: string; role: 'manager' | 'worker' },
    options: SwarmClusterOptions,
    capabilities: string[],
  ): Promise<SwarmNode> {
    if (!this.dir || !this.network) throw new Error('cluster folder and network come first');
    const container = `${this.prefix}-${spec.name}`;
    const socketDir = join(this.dir, spec.name);
    await mkdir(socketDir);
    const volume = `${container}-docker`;
    this.volumes.push(volume);
    await this.host.createVolume({ Name: volume, Labels: { [LABEL_SWARM_TEST]: this.prefix } });
    this.containers.push(container);
    await this.host.createContainer({
      name: container,
      Image: options.nodeImage,
      Hostname: spec.name,
      Cmd: ['/usr/local/sbin/parley-swarm-node', ...(options.dockerdArgs ?? [])],
      Labels: { [LABEL_SWARM_TEST]: this.prefix },
      HostConfig: {
        // --privileged fails on this kernel (its bounding set lacks SYS_RESOURCE): name what it has.
        CapAdd: capabilities,
        SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
        // Reaps the engine's children; a fresh /run lets a killed node start again (stale pid files).
        Init: true,
        Tmpfs: { '/run': 'rw,exec' },
        Binds: ['/sys/fs/cgroup:/sys/fs/cgroup:rw', `${socketDir}:/swarm`],
        // A real file system under the inner engine, so it uses overlay2.
        Mounts: [{ Type: 'volume', Source: volume, Target: '/var/lib/docker' }],
        // Nothing outside resolves: the node must not try.
        Dns: ['127.0.0.1'],
        NetworkMode: this.network,
      },
      NetworkingConfig: { EndpointsConfig: { [this.network]: { IPAMConfig: { IPv4Address: spec.ip } } } },
    });
    await this.host.getContainer(container).start();
    const socketPath = join(socketDir, 'docker.sock');
    return { ...spec, container, docker: new Docker({ socketPath, timeout: CLIENT_TIMEOUT_MS }), socketPath, id: '' };
  }

  private async waitForEngine(node: SwarmNode): Promise<void> {
    await until(
      `the engine of ${node.container}`,
      async () => {
        const state = (await this.host.getContainer(node.container).inspect()).State;
        if (!state.Running) throw new Error(`${node.container} exited (${state.ExitCode}): ${await this.nodeLog(node)}`);
        return node.docker.ping().then(
          () => true,
          () => null,
        );
      },
      this.stageTimeoutMs,
      100,
    );
  }

  private async nodeLog(node: SwarmNode): Promise<string> {
    const log = await this.host.getContainer(node.container).logs({ stdout: true, stderr: true, tail: 20 });
    // Drops the 8-byte frame headers' bytes of the multiplexed log, keeps the text.
    return [...log.toString('utf8')].filter((c) => c >= '\t').join('');
  }

  private async formSwarm(heartbeatSeconds: number, joinWorkers: boolean): Promise<void> {
    const { manager } = this;
    const members = this.nodes.filter((node) => joinWorkers || node.role === 'manager');
    await manager.docker.swarmInit({
      ListenAddr: `0.0.0.0:${SWARM_PORT}`,
      AdvertiseAddr: `${manager.ip}:${SWARM_PORT}`,
      Spec: { Dispatcher: { HeartbeatPeriod: heartbeatSeconds * 1e9 } },
    });
    const { JoinTokens } = (await manager.docker.swarmInspect()) as { JoinTokens: { Worker: string } };
    await Promise.all(
      members
        .filter((node) => node.role === 'worker')
        .map((node) =>
          node.docker.swarmJoin({
            ListenAddr: `0.0.0.0:${SWARM_PORT}`,
            AdvertiseAddr: `${node.ip}:${SWARM_PORT}`,
            RemoteAddrs: [`${manager.ip}:${SWARM_PORT}`],
            JoinToken: JoinTokens.Worker,
          }),
        ),
    );
    for (const node of members) {
      node.id = ((await node.docker.info()) as { Swarm: { NodeID: string } }).Swarm.NodeID;
    }
    await until(
      `${members.length} swarm nodes Ready`,
      async () => {
        const listed = (await manager.docker.listNodes()) as { ID: string; Status?: { State?: string } }[];
        return members.every((node) => listed.some((l) => l.ID === node.id && l.Status?.State === 'ready')) ? true : null;
      },
      this.stageTimeoutMs,
      100,
    );
    for (const node of members) {
      const handle = manager.docker.getNode(node.id);
      const { Version, Spec } = (await handle.inspect()) as { Version: { Index: number }; Spec: { Labels?: Record<string, string> } };
      await handle.update({ version: Version.Index, ...Spec, Labels: { ...Spec.Labels, [NODE_LABEL]: node.name } });
    }
  }

  /** Each image is exported from the host once and streamed into every node's engine at the same time. */
  private async loadImages(images: string[], into: SwarmNode[]): Promise<void> {
    for (const image of images) {
      const source = await this.host.getImage(image).get();
      await Promise.all(
        into.map(async (node) => {
          const copy = new PassThrough();
          source.pipe(copy);
          const response = await node.docker.loadImage(copy, { quiet: true });
          await new Promise<void>((resolve, reject) => {
            node.docker.modem.followProgress(response, (error: Error | null, output: { errorDetail?: { message?: string } }[]) => {
              const failure = error ?? output.find((line) => line.errorDetail)?.errorDetail?.message;
              if (failure) reject(failure instanceof Error ? failure : new Error(`loading ${image} into ${node.container}: ${failure}`));
              else resolve();
            });
          });
          await node.docker.getImage(image).inspect();
        }),
      );
    }
  }
}

/** Runs `argv` in a container of `docker` (a node's engine); stdout and stderr, bounded in time. */
export async function execIn(docker: Docker, containerId: string, argv: string[], timeoutMs = 15_000): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const exec = await docker.getContainer(containerId).exec({ Cmd: argv, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  docker.modem.demuxStream(stream, stdout, stderr);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.destroy();
      reject(new Error(`${argv.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    stream.on('end', () => {
      clearTimeout(timer);
      resolve();
    });
    stream.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  const exitCode = await until(`exit code of ${argv[0] ?? ''}`, async () => (await exec.inspect()).ExitCode, 5_000, 20);
  return { exitCode, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** Capability names of this process's bounding set (dockerd's is the same: both run as root here). */
async function boundingCapabilities(): Promise<string[]> {
  const line = (await readFile('/proc/self/status', 'utf8')).split('\n').find((l) => l.startsWith('CapBnd:'));
  const mask = BigInt(`0x${line?.split(/\s+/)[1] ?? '0'}`);
  return CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** Up to `count` 10.214.N.0/24 subnets that no host network or route uses, from a random start. */
async function freeSubnets(host: Docker, count: number): Promise<string[]> {
  const used: string[] = [];
  for (const network of await host.listNetworks()) {
    for (const config of network.IPAM?.Config ?? []) if (config.Subnet?.includes('.')) used.push(config.Subnet);
  }
  const { stdout } = await execFileAsync('ip', ['-4', '-o', 'route', 'show'], { timeout: 10_000 });
  for (const line of stdout.split('\n')) {
    const destination = line.split(' ')[0] ?? '';
    if (/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(destination)) used.push(destination.includes('/') ? destination : `${destination}/32`);
  }
  const { first, last } = SUBNET_RANGE;
  const span = last - first + 1;
  const start = Math.floor(Math.random() * span);
  const free: string[] = [];
  for (let i = 0; i < span && free.length < count; i++) {
    const subnet = `${SUBNET_RANGE.prefix}.${first + ((start + i) % span)}.0/24`;
    if (!used.some((other) => overlaps(subnet, other))) free.push(subnet);
  }
  return free;
}

function overlaps(a: string, b: string): boolean {
  const [aBase, aMask] = cidr(a);
  const [bBase, bMask] = cidr(b);
  const mask = aMask & bMask;
  return (aBase & mask) === (bBase & mask);
}

function cidr(text: string): [number, number] {
  const [address = '', bits = '32'] = text.split('/');
  const base = address.split('.').reduce((acc, octet) => (acc << 8) | Number(octet), 0);
  const prefix = Number(bits);
  return [base, prefix === 0 ? 0 : ~0 << (32 - prefix)];
}
