import { z } from 'zod';
import { dependencyStatusSchema } from './dependency-check.js';

/**
 * The worker owns every side-effecting dependency (Docker, DNS, CA). It publishes what it sees
 * of them under this key so the API can report them without ever talking to them itself.
 */
export const WORKER_HEALTH_KEY = 'parley:health:worker';
export const WORKER_HEALTH_TTL_SECONDS = 15;
export const WORKER_DEPENDENCIES = ['docker', 'dns', 'ca'] as const;
export type WorkerDependency = (typeof WORKER_DEPENDENCIES)[number];

export const workerHealthReportSchema = z.object({
  workerId: z.string(),
  reportedAt: z.iso.datetime(),
  dependencies: z.record(z.enum(WORKER_DEPENDENCIES), dependencyStatusSchema),
});
export type WorkerHealthReport = z.infer<typeof workerHealthReportSchema>;
