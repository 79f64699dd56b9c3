import { z } from 'zod';

/**
 * What a node's worker reports of its host (memory, the disk its servers fill) beside its health
 * heartbeat, so the API can show operators each node's capacity without talking to the host. The
 * TTL lets a node whose worker stopped show "not reported" instead of old figures.
 */
export const nodeStatsKey = (nodeName: string): string => `parley:node-stats:${nodeName}`;
export const NODE_STATS_TTL_SECONDS = 15;

const bytes = z.number().int().nonnegative();

export const nodeStatsSchema = z.object({
  nodeName: z.string(),
  reportedAt: z.iso.datetime(),
  memory: z.object({ totalBytes: bytes, availableBytes: bytes }),
  /** The disk holding Docker's data root (the servers' volumes); null when it could not be read. */
  disk: z.object({ path: z.string(), totalBytes: bytes, freeBytes: bytes }).nullable(),
});
export type NodeStats = z.infer<typeof nodeStatsSchema>;
