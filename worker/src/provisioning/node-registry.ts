import type { PrismaClient } from '../../../prisma/client.js';
import type { FirewalledNode } from '../nodes/node-firewalls.js';

export interface LocalNode {
  name: string;
  hostname: string;
  publicAddress: string;
  dockerEndpoint: string;
  portRangeStart: number;
  portRangeEnd: number;
  /** Where the node's coturn listens and relays (FIRST-LAST), or null when it offers no calls. */
  turnPort: number | null;
  turnRelayPorts: string | null;
  /** coturn's TURN over TLS port, or null when it offers none. */
  turnTlsPort: number | null;
}

/** Registers (or updates) the node this worker runs containers on, so allocation can pick it. */
export async function registerNode(prisma: PrismaClient, node: LocalNode): Promise<string> {
  const row = await prisma.node.upsert({ where: { name: node.name }, create: node, update: node });
  return row.id;
}

/** The nodes servers may be on (all but removed ones), by name, with what reaching and confining each takes. */
export function registeredNodes(prisma: PrismaClient): Promise<FirewalledNode[]> {
  return prisma.node.findMany({
    where: { state: { not: 'removed' } },
    select: { name: true, publicAddress: true, dockerEndpoint: true, portRangeStart: true, portRangeEnd: true },
    orderBy: { name: 'asc' },
  });
}
