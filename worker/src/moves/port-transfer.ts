import type { PrismaClient } from '../../../prisma/client.js';
import { freePorts, PORT_PURPOSES, reservingPorts } from '../provisioning/steps/allocate.step.js';

/** Throws NoCapacityError unless node `nodeId` has a port free for each purpose: checked before a move stops anything. */
export async function assertPortsFree(prisma: PrismaClient, nodeId: string, taken: ReadonlySet<number>): Promise<void> {
  await prisma.$transaction(async (tx) => freePorts(tx, await tx.node.findUniqueOrThrow({ where: { id: nodeId } }), PORT_PURPOSES.length, taken));
}

/**
 * Gives the server one port per purpose on node `nodeId` in place of the ones it holds, and
 * makes that node its own, in one transaction: a crash leaves it on the old node or the new,
 * never between. It keeps a port's number where the target has it free (nodes usually share a
 * range): the upload links in chat history name the HTTPS port, and SRV records stay as they are.
 */
export async function transferPorts(prisma: PrismaClient, serverId: string, nodeId: string, publishedHostPorts: () => Promise<ReadonlySet<number>>): Promise<void> {
  await reservingPorts(prisma, publishedHostPorts, async (tx, taken) => {
    const node = await tx.node.findUniqueOrThrow({ where: { id: nodeId } });
    const current = await tx.portAllocation.findMany({ where: { serverId } });
    const heldThere = new Set((await tx.portAllocation.findMany({ where: { nodeId, port: { in: current.map((a) => a.port) } }, select: { port: true } })).map((a) => a.port));
    const kept = current.filter((a) => a.port >= node.portRangeStart && a.port <= node.portRangeEnd && !taken.has(a.port) && !heldThere.has(a.port));
    await tx.portAllocation.deleteMany({ where: { serverId } });
    await tx.portAllocation.createMany({ data: kept.map(({ purpose, port }) => ({ nodeId, serverId, purpose, port })) });
    const missing = PORT_PURPOSES.filter((purpose) => !kept.some((a) => a.purpose === purpose));
    const free = await freePorts(tx, node, missing.length, taken);
    await tx.portAllocation.createMany({ data: missing.map((purpose, i) => ({ nodeId, serverId, purpose, port: free[i] ?? 0 })) });
    await tx.server.update({ where: { id: serverId }, data: { nodeId } });
  });
}
