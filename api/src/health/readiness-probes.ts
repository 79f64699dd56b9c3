import type { Redis } from 'ioredis';
import type { PrismaClient } from '../../../prisma/client.js';
import { readWorkerReports } from '../../../worker/src/contracts/worker-health-store.js';
import type { ReadinessProbes } from './readiness.js';

export function createReadinessProbes(prisma: PrismaClient, redis: Redis): ReadinessProbes {
  return {
    database: async () => {
      const rows = await prisma.$queryRaw<{ version: string }[]>`SELECT current_setting('server_version') AS version`;
      return `PostgreSQL ${rows[0]?.version ?? '(unknown version)'}`;
    },
    redis: async () => {
      const started = Date.now();
      const pong = await redis.ping();
      return `Redis answered ${pong} in ${Date.now() - started} ms`;
    },
    readWorkerReports: () => readWorkerReports(redis),
  };
}
