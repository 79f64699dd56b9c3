import type { PrismaClient } from '../../../prisma/client.js';
import { isUniqueViolation } from '../../../prisma/errors.js';
import { freePorts, PORT_PURPOSES } from '../provisioning/steps/allocate.step.js';

const MAX_ATTEMPTS = 8;

/** Throws NoCapacityError unless node `nodeId` has a port free for each purpose: checked before a move stops anything. */
export async function assertPortsFree(prisma: PrismaClient, nodeId: string, taken: ReadonlySet<number>): Promise<void> {
  await prisma.$transaction(async (tx) => freePorts(tx, await tx.node.findUniqueOrThrow({ where: { id: nodeId } }), PORT_PURPOSES.length, taken));
}

/**
 * Gives the server one port per purpose on node `nodeId` in place of the ones it holds, and
 * makes that node its own, in one transaction: a crash leaves it on the old node or the new,
 * never between. Two allocators that pick the same port collide on insert; the loser picks again.
 */
export async function transferPorts(prisma: PrismaClient, serverId: string, nodeId: string, publishedHostPorts: () => Promise<ReadonlySet<number>>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const taken = await publishedHostPorts();
    try {
      await prisma.$transaction(async (tx) => {
        const node = await tx.node.findUniqueOrThrow({ where: { id: nodeId } });
        const free = await freePorts(tx, node, PORT_PURPOSES.length, taken);
        await tx.portAllocation.deleteMany({ where: { serverId } });
        await tx.portAllocation.createMany({ data: PORT_PURPOSES.map((purpose, i) => ({ nodeId, serverId, purpose, port: free[i] ?? 0 })) });
        await tx.server.update({ where: { id: serverId }, data: { nodeId } });
      });
      return;
    } catch (error) {
      if (isUniqueViolation(error) && attempt < MAX_ATTEMPTS) continue;
      throw error;
    }
  }
}
