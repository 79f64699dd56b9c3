import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { z } from 'zod';
import type { PrismaClient } from '../../../prisma/client.js';
import { PLACEMENT_LABEL } from '../adapters/swarm.container-runtime.js';
import type { DnsLedger } from '../provisioning/dns-ledger.js';
import type { NodeFirewalls } from './node-firewalls.js';

/** Why a node command was refused or failed: a stable type, and words saying what to do. */
export class NodeAdminError extends Error {
  constructor(
    readonly type: 'unknown_node' | 'engine_unreachable' | 'other_swarm' | 'name_taken' | 'node_has_servers' | 'node_is_manager' | 'join_timeout' | 'api_refused',
    message: string,
  ) {
    super(message);
    this.name = 'NodeAdminError';
  }
}

const NODE_NAME = z.string().regex(/^[a-z0-9-]{1,40}$/, 'must be 1-40 lowercase letters, digits and hyphens');

export const nodeAddRequestSchema = z
  .object({
    name: NODE_NAME,
    publicAddress: z.union([z.ipv4(), z.ipv6()], { error: 'must be an IP address' }),
    dockerEndpoint: z.string().regex(/^unix:\/\/\/.+$/, 'must be unix:///absolute/path/to/docker.sock'),
    portRangeStart: z.number().int().min(1024).max(65535),
    portRangeEnd: z.number().int().min(1024).max(65535),
    maxServers: z.number().int().min(1).nullable(),
    memoryMiB: z.number().int().min(64).nullable(),
  })
  .refine((r) => r.portRangeEnd - r.portRangeStart + 1 >= 4, { message: 'the port range must hold at least 4 ports (one server)', path: ['portRangeEnd'] });
export type NodeAddRequest = z.infer<typeof nodeAddRequestSchema>;
export const nodeNameSchema = NODE_NAME;

export interface NodeAdminDeps {
  prisma: PrismaClient;
  /** The Swarm manager's engine; null when servers run on one engine (CONTAINER_RUNTIME=docker). */
  manager: Docker | null;
  /** A client of the engine at a `unix://` endpoint. */
  engineAt(endpoint: string): Docker;
  /** The platform zone's ledger: a removed node's own records (its TURN host) are withdrawn. */
  ledger: DnsLedger;
  platformZone: string;
  /** Bound on waiting for a joined node to be Ready. */
  joinTimeoutMs: number;
  /** A Swarm's nodes' tenant firewalls, and which nodes are down now (null on one engine). */
  firewalls: { keeper: NodeFirewalls; downNodes(): Promise<ReadonlySet<string>> } | null;
}

interface SwarmNodeInfo {
  ID: string;
  Version: { Index: number };
  Spec: { Labels?: Record<string, string>; Role?: string; Availability?: string };
  Status?: { State?: string; Addr?: string };
  ManagerStatus?: { Addr?: string; Leader?: boolean };
}

export interface AddedNode {
  id: string;
  name: string;
  /** The node's Swarm id; null on one engine. */
  swarmNodeId: string | null;
  /** Whether this run made the node join the Swarm. */
  joined: boolean;
}

/**
 * Registers a node servers can be placed on, with its capacity. With a Swarm, the node's engine
 * joins the manager's Swarm as a worker when it is in none (the command runs the join through the
 * node's engine), is labelled `parley.node=<name>` so services can be pinned to it, and gets its
 * tenant firewall before it is registered. Running it again updates the capacity and changes
 * nothing else.
 */
export async function addNode(deps: NodeAdminDeps, request: NodeAddRequest): Promise<AddedNode> {
  const { name } = request;
  const existing = await deps.prisma.node.findUnique({ where: { name } });
  if (existing && existing.dockerEndpoint !== request.dockerEndpoint && existing.state !== 'removed') {
    throw new NodeAdminError('name_taken', `a node named ${name} is registered with another engine (${existing.dockerEndpoint}); pick another name or remove it first`);
  }
  let swarmNodeId: string | null = null;
  let joined = false;
  if (deps.manager) ({ swarmNodeId, joined } = await joinAndLabel(deps, deps.manager, request));
  // Confined before it can take a server; every other node's rules name it as a peer.
  if (deps.firewalls) await deps.firewalls.keeper.applyAll(await deps.firewalls.downNodes(), request);
  const row = { ...request, hostname: `${name}.${deps.platformZone.replace(/\.$/, '')}`, state: 'active' as const };
  const node = await deps.prisma.node.upsert({ where: { name }, create: row, update: row });
  return { id: node.id, name, swarmNodeId, joined };
}

async function joinAndLabel(deps: NodeAdminDeps, manager: Docker, request: NodeAddRequest): Promise<{ swarmNodeId: string; joined: boolean }> {
  const engine = deps.engineAt(request.dockerEndpoint);
  const info = (await engine.info().catch((error: unknown) => {
    throw new NodeAdminError('engine_unreachable', `the node's engine at ${request.dockerEndpoint} does not answer (${error instanceof Error ? error.message : String(error)}); start it, or correct --docker`);
  })) as { Swarm?: { LocalNodeState?: string; NodeID?: string } };
  // Refused before anything changes (a join included): the name on another Swarm node.
  const ownId = info.Swarm?.LocalNodeState === 'active' ? info.Swarm.NodeID : undefined;
  const holder = ((await manager.listNodes()) as SwarmNodeInfo[]).find((n) => n.Spec.Labels?.[PLACEMENT_LABEL] === request.name && n.ID !== ownId);
  if (holder) throw new NodeAdminError('name_taken', `Swarm node ${holder.ID} already carries ${PLACEMENT_LABEL}=${request.name}; pick another name`);
  let joined = false;
  if (info.Swarm?.LocalNodeState !== 'active') {
    const swarm = (await manager.swarmInspect()) as { JoinTokens: { Worker: string } };
    const managerInfo = (await manager.info()) as { Swarm?: { NodeAddr?: string } };
    if (!managerInfo.Swarm?.NodeAddr) throw new NodeAdminError('other_swarm', 'the manager engine (DOCKER_SOCKET) is not a Swarm manager');
    await engine.swarmJoin({ ListenAddr: '0.0.0.0:2377', RemoteAddrs: [`${managerInfo.Swarm.NodeAddr}:2377`], JoinToken: swarm.JoinTokens.Worker });
    joined = true;
  }
  // The manager lists a node that joined a moment after the join returns: looked for until ready.
  const deadline = Date.now() + deps.joinTimeoutMs;
  let swarmNodeId = '';
  let self: SwarmNodeInfo | undefined;
  for (;;) {
    swarmNodeId = ((await engine.info()) as { Swarm?: { NodeID?: string } }).Swarm?.NodeID ?? '';
    self = swarmNodeId ? ((await manager.listNodes()) as SwarmNodeInfo[]).find((n) => n.ID === swarmNodeId) : undefined;
    if (!self && !joined) throw new NodeAdminError('other_swarm', `the engine at ${request.dockerEndpoint} is in another Swarm than the manager's; make it leave that one first`);
    if (self?.Status?.State === 'ready') break;
    if (Date.now() > deadline) throw new NodeAdminError('join_timeout', `the node joined but the manager does not see it ready within ${deps.joinTimeoutMs} ms (state ${self?.Status?.State ?? 'not listed'})`);
    await sleep(250);
  }
  const current = self.Spec.Labels?.[PLACEMENT_LABEL];
  if (current && current !== request.name && (await deps.prisma.node.count({ where: { name: current, state: { not: 'removed' } } })) > 0) {
    throw new NodeAdminError('name_taken', `the engine at ${request.dockerEndpoint} is node ${current} already; one machine is one node`);
  }
  if (self.Spec.Labels?.[PLACEMENT_LABEL] !== request.name) {
    await manager.getNode(swarmNodeId).update({ version: self.Version.Index, ...self.Spec, Labels: { ...self.Spec.Labels, [PLACEMENT_LABEL]: request.name } });
  }
  return { swarmNodeId, joined };
}

/**
 * Takes a node out: refused while it holds servers (drain it first). Its own DNS records (its TURN
 * host) are withdrawn; with a Swarm it loses its label and leaves the Swarm. The row stays as
 * `removed`, so the servers it once ran still name it.
 */
export async function removeNode(deps: NodeAdminDeps, name: string): Promise<{ withdrawnRecords: number; leftSwarm: boolean }> {
  const node = await deps.prisma.node.findUnique({ where: { name } });
  if (!node || node.state === 'removed') throw new NodeAdminError('unknown_node', `no node named ${name} is registered (./parley node list)`);
  const servers = await deps.prisma.server.count({ where: { nodeId: node.id, deletedAt: null } });
  if (servers > 0) throw new NodeAdminError('node_has_servers', `node ${name} still holds ${servers} server(s); move them first: ./parley node drain ${name}`);
  let leftSwarm = false;
  if (deps.manager) leftSwarm = await leaveSwarm(deps.manager, deps.engineAt(node.dockerEndpoint), name);
  const withdrawnRecords = await deps.ledger.withdraw({ nodeId: node.id });
  await deps.prisma.node.update({ where: { id: node.id }, data: { state: 'removed' } });
  // The other nodes' rules stop naming it.
  if (deps.firewalls) await deps.firewalls.keeper.applyAll(await deps.firewalls.downNodes());
  return { withdrawnRecords, leftSwarm };
}

async function leaveSwarm(manager: Docker, engine: Docker, name: string): Promise<boolean> {
  const listed = (await manager.listNodes()) as SwarmNodeInfo[];
  const self = listed.find((n) => n.Spec.Labels?.[PLACEMENT_LABEL] === name);
  if (!self) return false;
  if (self.Spec.Role === 'manager') throw new NodeAdminError('node_is_manager', `node ${name} is a Swarm manager; demote it (docker node demote) before removing it`);
  // A node that still answers leaves by itself; one that is gone is taken off the list by force.
  await engine.swarmLeave({ force: true }).catch(() => undefined);
  await manager.getNode(self.ID).remove({ force: true });
  return true;
}

/** The registered nodes with what they hold, for `./parley node list`. */
export async function listNodes(prisma: PrismaClient) {
  const nodes = await prisma.node.findMany({ orderBy: { name: 'asc' }, include: { _count: { select: { servers: { where: { deletedAt: null } } } } } });
  return nodes.map((n) => ({
    name: n.name,
    state: n.state,
    publicAddress: n.publicAddress,
    dockerEndpoint: n.dockerEndpoint,
    servers: n._count.servers,
    maxServers: n.maxServers,
    memoryMiB: n.memoryMiB,
    ports: `${n.portRangeStart}-${n.portRangeEnd}`,
  }));
}
