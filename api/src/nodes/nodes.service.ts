import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { PrismaClient } from '../../../prisma/client.js';
import { PortPurpose } from '../../../prisma/generated/client/enums.js';
import { actorOf, type AuditService } from '../audit/audit.service.js';
import { ChangeRunner } from '../audit/change-runner.js';
import type { Principal } from '../auth/principal.js';
import { HttpProblem, notFound } from '../http/problem.js';
import type { JobsPort } from '../plugins/jobs.plugin.js';

const NODES_HINT = 'GET /api/v1/operator/nodes';
/** A server holds one port of its node per purpose. */
const PORTS_PER_SERVER = Object.keys(PortPurpose).length;

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
    const nodes = await this.prisma.node.findMany({
      orderBy: { name: 'asc' },
      include: { _count: { select: { servers: { where: { deletedAt: null } }, portAllocations: true } } },
    });
    return {
      items: nodes.map((node) => ({
        id: node.id,
        name: node.name,
        hostname: node.hostname,
        publicAddress: node.publicAddress,
        state: node.state,
        servers: node._count.servers,
        portsFree: node.portRangeEnd - node.portRangeStart + 1 - node._count.portAllocations,
      })),
    };
  }

  /** Queues the move of a server to another node; what it does shows on the server's timeline. */
  async move(principal: Principal, serverId: string, nodeId: string, ip: string) {
    const server = await this.prisma.server.findFirst({ where: { id: serverId, deletedAt: null }, include: { node: true } });
    if (!server) throw notFound('server', serverId, 'GET /api/v1/servers');
    const target = await this.prisma.node.findUnique({ where: { id: nodeId }, include: { _count: { select: { portAllocations: true } } } });
    if (!target) throw notFound('node', nodeId, NODES_HINT);
    if (server.desiredState === 'deleted') throw new HttpProblem(409, 'Server is being deleted', 'The server is being deleted; there is nothing to move.');
    if (server.nodeId === target.id) throw new HttpProblem(409, 'Already there', `The server already runs on node ${target.name}; pick another from ${NODES_HINT}.`);
    if (!['ready', 'stopped'].includes(server.state) || !server.node) {
      throw new HttpProblem(409, 'Not now', `The server is ${server.state}; it can move once it is ready or stopped (GET /api/v1/servers/${server.id}/events).`);
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
          audit: { action: 'server.move', targetType: 'server', targetId: serverId, detail: { fromNode: server.node?.name ?? null, toNode: target.name, requestId } },
        }),
      enqueue: () => this.jobs.move({ serverId, nodeId, requestId }),
      undo: () => Promise.resolve(),
    });
    return { accepted: true, requestId };
  }
}
