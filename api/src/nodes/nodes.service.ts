import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { PrismaClient } from '../../../prisma/client.js';
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
