import { statfs } from 'node:fs/promises';
import { freemem, totalmem } from 'node:os';
import type { Redis } from 'ioredis';
import { NODE_STATS_TTL_SECONDS, nodeStatsKey, type NodeStats } from '../contracts/node-stats.js';

/** The node a worker reports on: its name, and a directory on the disk its servers fill. */
export interface NodeStatsSource {
  nodeName: string;
  diskPath: string;
}

/** The host's memory (available as the kernel counts it, page cache included) and the servers' disk. */
export async function readNodeStats(source: NodeStatsSource): Promise<NodeStats> {
  // A disk that cannot be read is reported as unknown: the memory figures are still worth having.
  const disk = await statfs(source.diskPath).then(
    (fs) => ({ path: source.diskPath, totalBytes: fs.blocks * fs.bsize, freeBytes: fs.bavail * fs.bsize }),
    () => null,
  );
  return { nodeName: source.nodeName, reportedAt: new Date().toISOString(), memory: { totalBytes: totalmem(), availableBytes: freemem() }, disk };
}

export async function publishNodeStats(redis: Redis, source: NodeStatsSource): Promise<NodeStats> {
  const stats = await readNodeStats(source);
  await redis.set(nodeStatsKey(source.nodeName), JSON.stringify(stats), 'EX', NODE_STATS_TTL_SECONDS);
  return stats;
}
