import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkerConfig } from '../../../worker/src/config.js';
import type { ProvisioningHarness } from '../../support/provisioning-harness.js';
import { testEnv } from '../../support/test-env.js';
import { PlatformProcess } from '../../support/platform-process.js';

/** The node's address as `./parley up` publishes servers: the edge address, reachable from containers, so servers federate. */
export const EDGE = () => testEnv().SANDBOX_EDGE_ADDRESS;

/**
 * The production worker entry point as its own process on the harness's database, Redis, node
 * and port range, with worker/src/config.ts's production defaults for everything else (log
 * level, intervals, census, backup schedule), publishing on the edge address as `./parley up`
 * does. `env` adds what a bench must set beyond that (and says so in its settings).
 */
export async function startProductionWorker(harness: ProvisioningHarness, options: { compliance: boolean; env?: Record<string, string> }): Promise<PlatformProcess> {
  const test = harness.workerEnv();
  const repositoryDir = join(await mkdtemp(join(tmpdir(), 'parley-bench-')), 'repository');
  const worker = PlatformProcess.worker({
    DATABASE_URL: test.DATABASE_URL ?? '',
    REDIS_URL: test.REDIS_URL ?? '',
    NODE_NAME: test.NODE_NAME ?? '',
    NODE_PORT_RANGE: test.NODE_PORT_RANGE ?? '',
    TENANT_REACHABLE_PORTS: test.TENANT_REACHABLE_PORTS ?? '',
    NODE_PUBLIC_ADDRESS: EDGE(),
    TURN_TLS_DIR: test.TURN_TLS_DIR ?? '',
    COMPLIANCE_AFTER_READY: String(options.compliance),
    BACKUP_REPOSITORY: repositoryDir,
    // The sandbox's worker serves the default metrics address.
    WORKER_METRICS_ADDRESS: '',
    // Only the teardown deletes: without a grace period it takes no final backups.
    DELETED_SERVER_GRACE_DAYS: '0',
    ...options.env,
  });
  try {
    await worker.waitForLine(/worker started/, 60_000);
  } catch (error) {
    await worker.stop();
    throw error;
  }
  return worker;
}

/** The production defaults the worker ran with, for a bench's settings line and JSON. */
export const productionSettings = (production: WorkerConfig) => ({
  worker: 'own process, production defaults',
  LOG_LEVEL: production.logLevel,
  WORKER_CONCURRENCY: production.jobs.concurrency,
  RECONCILE_INTERVAL_MS: production.jobs.reconcileIntervalMs,
  HEALTH_REPORT_INTERVAL_MS: production.healthReportIntervalMs,
  ACCOUNT_CENSUS_INTERVAL_MS: production.jobs.accountCensusIntervalMs,
  CENSUS_YIELD_MAX_MS: production.jobs.censusYield.perServerMs,
  COMPLIANCE_YIELD_MAX_MS: production.jobs.complianceYieldMaxMs,
  BACKUP_SCHEDULE_INTERVAL_MS: production.backups.scheduleIntervalMs,
  NODE_PUBLIC_ADDRESS: EDGE(),
});
