import type { Redis } from 'ioredis';
import type { PrismaClient } from '../../../prisma/client.js';
import { nodeStatsKey, nodeStatsSchema, type NodeStats } from '../../../worker/src/contracts/node-stats.js';
import type { NodeService } from '../nodes/nodes.service.js';

function parseStats(text: string | null): NodeStats | null {
  if (text === null) return null;
  try {
    const parsed = nodeStatsSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * Each node with what it holds (servers, ports, the memory their plans commit) and what its host
 * has, as its worker last published it to Redis: the API never asks a host itself.
 */
export async function nodeCapacity(prisma: PrismaClient, redis: Redis, nodes: NodeService) {
  const { items } = await nodes.list();
  if (items.length === 0) return [];
  const [committed, reports] = await Promise.all([
    prisma.$queryRaw<{ nodeId: string; memoryMiB: bigint }[]>`
      SELECT s.node_id::text AS "nodeId", sum(p.memory_mib) AS "memoryMiB"
      FROM servers s JOIN plans p ON p.id = s.plan_id
      WHERE s.deleted_at IS NULL AND s.node_id IS NOT NULL
      GROUP BY s.node_id`,
    redis.mget(items.map((node) => nodeStatsKey(node.name))),
  ]);
  return items.map((node, i) => {
    const stats = parseStats(reports[i] ?? null);
    return {
      id: node.id,
      name: node.name,
      state: node.state,
      servers: node.servers,
      committedMemoryMiB: Number(committed.find((row) => row.nodeId === node.id)?.memoryMiB ?? 0),
      memory: stats?.memory ?? null,
      portsFree: node.portsFree,
      disk: stats?.disk ? { totalBytes: stats.disk.totalBytes, freeBytes: stats.disk.freeBytes } : null,
      reportedAt: stats?.reportedAt ?? null,
    };
  });
}
