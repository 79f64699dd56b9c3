import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { PrismaClient } from '../../../prisma/client.js';
import type { Prisma } from '../../../prisma/generated/client/client.js';
import { PortPurpose } from '../../../prisma/generated/client/enums.js';
import { actorOf, type AuditService } from '../audit/audit.service.js';
import { ChangeRunner } from '../audit/change-runner.js';
import type { Principal } from '../auth/principal.js';
import { HttpProblem, notFound } from '../http/problem.js';
import type { JobsPort } from '../plugins/jobs.plugin.js';
import type { MoveSource } from '../../../worker/src/contracts/provisioning.js';

const NODES_HINT = 'GET /api/v1/operator/nodes';
/** A server holds one port of its node per purpose. */
const PORTS_PER_SERVER = Object.keys(PortPurpose).length;

const NODE_COUNTS = { _count: { select: { servers: { where: { deletedAt: null } }, portAllocations: true } } } as const;

function nodeView(node: Prisma.NodeGetPayload<{ include: typeof NODE_COUNTS }>) {
  return {
    id: node.id,
    name: node.name,
    hostname: node.hostname,
    publicAddress: node.publicAddress,
    state: node.state,
    servers: node._count.servers,
    portsFree: node.portRangeEnd - node.portRangeStart + 1 - node._count.portAllocations,
  };
}

const removedNode = (name: string) => new HttpProblem(409, 'Node removed', `Node ${name} was removed; bring it back with ./parley node add ${name} …`);

/** The nodes servers run on, for operators: what each holds, and moving a server between them. */
export class NodeService {
  private readonly changes: ChangeRunner;

  constructor(
    private readonly prisma: PrismaClient,
    audit: AuditService,
    private readonly jobs: JobsPort,
    log: FastifyBaseLogger,
  ) {
    this.changes = new ChangeRunner(prisma, audit, log);
  }

  async list() {
    const nodes = await this.prisma.node.findMany({ orderBy: { name: 'asc' }, include: NODE_COUNTS });
    return { items: nodes.map(nodeView) };
  }

  /**
   * Drains a node: it takes no new servers from now, and the worker moves its servers away one at
   * a time (the `node-drain` job's rounds). Refused while no other node is active to take them.
   */
  async drain(principal: Principal, nodeId: string, ip: string) {
    const node = await this.prisma.node.findUnique({ where: { id: nodeId } });
    if (!node) throw notFound('node', nodeId, NODES_HINT);
    if (node.state === 'removed') throw removedNode(node.name);
    if ((await this.prisma.node.count({ where: { state: 'active', id: { not: nodeId } } })) === 0) {
      throw new HttpProblem(409, 'Nowhere to go', `No other node is active to take the servers of ${node.name}; add a node (./parley node add) or activate one first.`);
    }
    const requestId = randomUUID();
    await this.changes.run(actorOf(principal, ip), {
      write: async (tx) => {
        await tx.node.update({ where: { id: nodeId }, data: { state: 'draining' } });
        return { result: requestId, audit: { action: 'node.drain', targetType: 'node', targetId: nodeId, detail: { node: node.name, requestId, stateBefore: node.state } } };
      },
      enqueue: () => this.jobs.drainNode({ nodeId, requestId, round: 0 }),
      undo: async (tx) => {
        await tx.node.updateMany({ where: { id: nodeId, state: 'draining' }, data: { state: node.state } });
      },
    });
    return { accepted: true, requestId };
  }

  /** Makes a node take servers again; a drain under way stops after the move it is making. */
  async activate(principal: Principal, nodeId: string, ip: string) {
    const node = await this.prisma.node.findUnique({ where: { id: nodeId } });
    if (!node) throw notFound('node', nodeId, NODES_HINT);
    if (node.state === 'removed') throw removedNode(node.name);
    await this.changes.run(actorOf(principal, ip), {
      write: async (tx) => {
        if (node.state === 'active') return { result: null };
        await tx.node.update({ where: { id: nodeId }, data: { state: 'active' } });
        return { result: null, audit: { action: 'node.activate', targetType: 'node', targetId: nodeId, detail: { node: node.name, stateBefore: node.state } } };
      },
      enqueue: () => Promise.resolve(),
      undo: () => Promise.resolve(),
    });
    return nodeView(await this.prisma.node.findUniqueOrThrow({ where: { id: nodeId }, include: NODE_COUNTS }));
  }

  /** Queues the move of a server to another node; what it does shows on the server's timeline. */
  async move(principal: Principal, { serverId, nodeId, from }: { serverId: string; nodeId: string; from: MoveSource }, ip: string) {
    const server = await this.prisma.server.findFirst({ where: { id: serverId, deletedAt: null }, include: { node: true } });
    if (!server) throw notFound('server', serverId, 'GET /api/v1/servers');
    const target = await this.prisma.node.findUnique({ where: { id: nodeId }, include: { _count: { select: { portAllocations: true } } } });
    if (!target) throw notFound('node', nodeId, NODES_HINT);
    if (server.desiredState === 'deleted') throw new HttpProblem(409, 'Server is being deleted', 'The server is being deleted; there is nothing to move.');
    if (server.nodeId === target.id) throw new HttpProblem(409, 'Already there', `The server already runs on node ${target.name}; pick another from ${NODES_HINT}.`);
    // A lost node may have left its server failed, or still shown ready until the checks catch up.
    const movable = from === 'latest_backup' ? ['ready', 'stopped', 'failed'] : ['ready', 'stopped'];
    if (!movable.includes(server.state) || !server.node) {
      throw new HttpProblem(409, 'Not now', `The server is ${server.state}; it can move once it is ${movable.join(' or ')} (GET /api/v1/servers/${server.id}/events).`);
    }
    if (from === 'latest_backup' && !(await this.prisma.serverBackup.findFirst({ where: { serverId, status: 'succeeded', snapshotId: { not: null } }, select: { id: true } }))) {
      throw new HttpProblem(409, 'No backup', 'The server has no backup to start from; it can only come back with its own node.');
    }
    if (target.state !== 'active') throw new HttpProblem(409, 'Node takes no servers', `Node ${target.name} is ${target.state}; move the server to an active node.`);
    if (target.portRangeEnd - target.portRangeStart + 1 - target._count.portAllocations < PORTS_PER_SERVER) {
      throw new HttpProblem(409, 'No room', `Node ${target.name} has no free ports left for another server; widen its port range or pick another node.`);
    }
    const requestId = randomUUID();
    await this.changes.run(actorOf(principal, ip), {
      write: () =>
        Promise.resolve({
          result: requestId,
          audit: { action: 'server.move', targetType: 'server', targetId: serverId, detail: { fromNode: server.node?.name ?? null, toNode: target.name, requestId, from } },
        }),
      enqueue: () => this.jobs.move({ serverId, nodeId, requestId, from }),
      undo: () => Promise.resolve(),
    });
    return { accepted: true, requestId };
  }
}
