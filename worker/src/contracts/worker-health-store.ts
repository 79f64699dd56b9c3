import type { Redis } from 'ioredis';
import { WORKER_HEALTH_INDEX, WORKER_HEALTH_TTL_SECONDS, workerHealthKey, type WorkerHealthReport } from './worker-health.js';

/** Publishes one worker's report under its key (with the TTL) and indexes it until it expires. */
export async function publishWorkerReport(redis: Redis, report: WorkerHealthReport, now = Date.now()): Promise<void> {
  const results = await redis
    .multi()
    .set(workerHealthKey(report.workerId), JSON.stringify(report), 'EX', WORKER_HEALTH_TTL_SECONDS)
    .zadd(WORKER_HEALTH_INDEX, now + WORKER_HEALTH_TTL_SECONDS * 1000, report.workerId)
    .zremrangebyscore(WORKER_HEALTH_INDEX, '-inf', now)
    .exec();
  const failed = results?.find(([error]) => error !== null)?.[0];
  if (failed) throw failed;
}

/** The raw reports of every worker whose report has not expired, one read each for the index and the keys. */
export async function readWorkerReports(redis: Redis, now = Date.now()): Promise<string[]> {
  const workerIds = await redis.zrangebyscore(WORKER_HEALTH_INDEX, now, '+inf');
  if (workerIds.length === 0) return [];
  const raws = await redis.mget(workerIds.map(workerHealthKey));
  return raws.filter((raw): raw is string => raw !== null);
}
