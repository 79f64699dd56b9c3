import {
  ADMIN_RESET_JOB,
  SERVER_CONFIG_JOB,
  serverConfigJobSchema,
  TURN_ROTATION_JOB,
  turnRotationJobSchema,
  DEPROVISION_JOB,
  PROVISION_STEPS,
  PROVISIONING_JOBS,
  PROVISIONING_QUEUE,
  RECONCILE_JOB,
  RENEW_JOB,
  RENEWAL_SCAN_JOB,
  SERVER_ACTION_JOB,
  SWEEP_JOB,
  RESEAL_SECRETS_JOB,
  ACCOUNT_CENSUS_JOB,
  DATABASE_BACKUP_JOB,
  SERVER_BACKUP_JOB,
  SERVER_RESTORE_JOB,
  SERVER_MOVE_JOB,
  serverMoveJobSchema,
  NODE_DRAIN_JOB,
  nodeDrainJobSchema,
  BACKUP_SCHEDULE_JOB,
  SERVER_EXPORT_JOB,
  serverExportJobSchema,
  COMPLIANCE_CHECK_JOB,
  serverBackupJobSchema,
  serverRestoreJobSchema,
  adminResetJobSchema,
  renewJobSchema,
  scheduledJobSchema,
  serverActionJobSchema,
  serverJobSchema,
} from '../contracts/provisioning.js';
import { jobDefiner, JobRegistry, type JobHandler } from '../jobs/job-registry.js';
import { jobContext } from '../jobs/tracked-step.js';
import { resetAdminPassword } from './admin-reset.js';
import { applyServerConfig } from './server-config.js';
import { rotateTurnSecret } from '../calls/turn-rotation.js';
import { deprovision } from './deprovision.js';
import { runProvisionStep, type ProvisioningJobContext } from './provision-step.js';
import { HEAL_JOB, healJobSchema } from '../contracts/health.js';
import { classifyError } from '../jobs/error-type.js';
import { heal } from '../healing/heal.js';
import { reconcilePass } from '../healing/reconcile-pass.js';
import { renewCertificate, scanForRenewals } from './renewal.js';
import { runServerAction } from './server-actions.js';
import { sweepExpired } from '../housekeeping/sweep.js';
import { resealStaleSecrets } from '../housekeeping/reseal-secrets.js';
import { takeAccountCensus } from '../xmpp-users/account-census.js';
import { backupDatabase } from '../backups/database-backup.js';
import { runServerBackup } from '../backups/server-backup.js';
import { restoreServer } from '../backups/server-restore.js';
import { moveServer } from '../moves/server-move.js';
import { drainNode } from '../moves/node-drain.js';
import { scheduleDueBackups } from '../backups/backup-schedule.js';
import { runServerExport } from '../exports/server-export.js';
import { runComplianceJob } from '../compliance/compliance-job.js';
import { deferJob } from '../jobs/defer-job.js';

const job = jobDefiner<ProvisioningJobContext>();

/**
 * The handlers of the provisioning queue, one per name in PROVISIONING_JOBS. A new kind of job
 * is its name there and one entry here: `job(NAME, payloadSchema, (context, payload, bullJob) => ...)`.
 */
export const PROVISIONING_HANDLERS: readonly JobHandler<ProvisioningJobContext>[] = [
  ...PROVISION_STEPS.map((step) => job(step, serverJobSchema, (context, { serverId }, bullJob) => runProvisionStep(context, step, serverId, bullJob))),
  job(DEPROVISION_JOB, serverJobSchema, ({ deps, timeline, failpoints }, { serverId }, bullJob) =>
    deprovision(deps, timeline, serverId, jobContext(bullJob), failpoints),
  ),
  job(RENEWAL_SCAN_JOB, scheduledJobSchema, ({ deps }) => scanForRenewals(deps)),
  job(RECONCILE_JOB, scheduledJobSchema, async ({ deps, findingsSeen }) => {
    const report = await reconcilePass(deps, deps.settings.nodeName);
    findingsSeen(report.findings);
    return JSON.stringify(report);
  }),
  job(HEAL_JOB, healJobSchema, ({ deps, timeline }, { serverId }, bullJob) => heal(deps, timeline, serverId, { jobId: bullJob.id, errorTypeOf: (error) => classifyError(error).type })),
  job(RENEW_JOB, renewJobSchema, ({ deps, timeline }, { serverId, certificateId }, bullJob) =>
    renewCertificate(deps, timeline, serverId, certificateId, jobContext(bullJob)),
  ),
  job(SERVER_ACTION_JOB, serverActionJobSchema, ({ deps, timeline }, { serverId, action }, bullJob) =>
    runServerAction(deps, timeline, serverId, action, jobContext(bullJob)),
  ),
  job(ADMIN_RESET_JOB, adminResetJobSchema, ({ deps, timeline }, { serverId, issuance }, bullJob) =>
    resetAdminPassword(deps, timeline, serverId, issuance, jobContext(bullJob)),
  ),
  job(SWEEP_JOB, scheduledJobSchema, async ({ deps }) => JSON.stringify(await sweepExpired(deps.prisma, new Date()))),
  job(RESEAL_SECRETS_JOB, scheduledJobSchema, async ({ deps }) => JSON.stringify(await resealStaleSecrets(deps.prisma, deps.secrets))),
  job(ACCOUNT_CENSUS_JOB, scheduledJobSchema, async ({ deps }) => JSON.stringify(await takeAccountCensus(deps, new Date()))),
  job(DATABASE_BACKUP_JOB, scheduledJobSchema, ({ databaseBackup }) => backupDatabase(databaseBackup)),
  job(SERVER_BACKUP_JOB, serverBackupJobSchema, ({ deps, timeline }, payload, bullJob) => runServerBackup(deps, timeline, payload, jobContext(bullJob))),
  job(SERVER_RESTORE_JOB, serverRestoreJobSchema, ({ deps, timeline }, payload, bullJob) => restoreServer(deps, timeline, payload, jobContext(bullJob))),
  job(SERVER_MOVE_JOB, serverMoveJobSchema, ({ deps, timeline }, payload, bullJob) => moveServer(deps, timeline, payload, jobContext(bullJob))),
  job(NODE_DRAIN_JOB, nodeDrainJobSchema, ({ deps, timeline }, payload, bullJob) => drainNode(deps, timeline, payload, jobContext(bullJob))),
  job(BACKUP_SCHEDULE_JOB, scheduledJobSchema, ({ deps }) => scheduleDueBackups(deps, new Date())),
  job(TURN_ROTATION_JOB, turnRotationJobSchema, ({ deps, timeline }, { serverId, version }, bullJob) =>
    rotateTurnSecret(deps, timeline, serverId, version, jobContext(bullJob)),
  ),
  job(SERVER_CONFIG_JOB, serverConfigJobSchema, ({ deps, timeline }, { serverId, revision }, bullJob) =>
    applyServerConfig(deps, timeline, serverId, revision, jobContext(bullJob)),
  ),
  job(SERVER_EXPORT_JOB, serverExportJobSchema, ({ deps, timeline }, payload, bullJob) => runServerExport(deps, timeline, payload, jobContext(bullJob))),
  job(COMPLIANCE_CHECK_JOB, serverJobSchema, ({ deps, timeline }, { serverId }, bullJob) =>
    runComplianceJob(deps, timeline, { jobId: bullJob.id ?? '', serverId, queuedAt: bullJob.timestamp, defer: (at) => deferJob(bullJob, at) }),
  ),
];

/** Throws JobRegistryError when a declared job has no handler or two: the worker refuses to start. */
export function provisioningRegistry(): JobRegistry<ProvisioningJobContext> {
  return new JobRegistry(PROVISIONING_QUEUE, PROVISIONING_JOBS, PROVISIONING_HANDLERS);
}
