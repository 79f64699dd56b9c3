import type { PrismaClient } from '../../../prisma/client.js';

export interface LocalNode {
  name: string;
  hostname: string;
  publicAddress: string;
  dockerEndpoint: string;
  portRangeStart: number;
  portRangeEnd: number;
}

/** Registers (or updates) the node this worker runs containers on, so allocation can pick it. */
export async function registerNode(prisma: PrismaClient, node: LocalNode): Promise<string> {
  const row = await prisma.node.upsert({ where: { name: node.name }, create: node, update: node });
  return row.id;
}
