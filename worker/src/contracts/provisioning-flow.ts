import type { FlowJob, FlowProducer, JobsOptions, Queue } from 'bullmq';
import {
  ADMIN_RESET_JOB,
  COMPLIANCE_CHECK_JOB,
  complianceCheckJobId,
  complianceFollowUpJobId,
  SERVER_CONFIG_JOB,
  serverConfigJobId,
  type ServerConfigJob,
  TURN_ROTATION_JOB,
  turnRotationJobId,
  type TurnRotationJob,
  SERVER_ACTION_JOB,
  SERVER_BACKUP_JOB,
  SERVER_EXPORT_JOB,
  serverExportJobId,
  type ServerExportJob,
  SERVER_RESTORE_JOB,
  SERVER_MOVE_JOB,
  NODE_DRAIN_JOB,
  nodeDrainJobId,
  type NodeDrainJob,
  serverBackupJobId,
  serverMoveJobId,
  type ServerMoveJob,
  serverRestoreJobId,
  type ServerBackupJob,
  type ServerRestoreJob,
  adminResetJobId,
  serverActionJobId,
  type AdminResetJob,
  type ServerAction,
  type ServerActionJob,
  DEPROVISION_JOB,
  PROVISION_STEPS,
  PROVISIONING_QUEUE,
  deprovisionJobId,
  stepJobId,
  type ServerJob,
} from './provisioning.js';
import { HEAL_JOB, healJobId, type HealJob } from './health.js';

/** Retries span minutes, so a dependency that is down for a while delays the order, not fails it. */
export const STEP_JOB_OPTIONS: JobsOptions = {
  attempts: 20,
  backoff: { type: 'capped-exponential' },
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

/** Delay before retry N: 0.5 s doubling up to 30 s (about 8 minutes of retries in all). */
export function stepBackoffMs(attemptsMade: number): number {
  return Math.min(30_000, 500 * 2 ** Math.max(0, attemptsMade - 1));
}

/**
 * The steps as one BullMQ flow: each step is the child of the next, so they run in order, and
 * the whole chain is written to Redis atomically with deterministic ids (adding it twice adds
 * nothing). The first step is the deepest child; the probe is the root.
 */
export function provisioningFlow(serverId: string): FlowJob {
  let flow: FlowJob | undefined;
  for (const step of PROVISION_STEPS) {
    const data: ServerJob = { serverId };
    flow = {
      name: step,
      queueName: PROVISIONING_QUEUE,
      data,
      opts: { ...STEP_JOB_OPTIONS, jobId: stepJobId(serverId, step), failParentOnFailure: true },
      ...(flow ? { children: [flow] } : {}),
    };
  }
  if (!flow) throw new Error('no provisioning steps');
  return flow;
}

export async function enqueueProvisioning(flows: FlowProducer, serverId: string): Promise<void> {
  await flows.add(provisioningFlow(serverId));
}

/**
 * A deletion that finished without deleting (it failed for good) is kept for 30 days under its
 * deterministic id, where adding it again would be a no-op: it is removed first, so a repeated
 * DELETE or the reconciler queues it afresh. One waiting or running is kept as it is.
 */
export async function enqueueDeprovisioning(queue: Queue, serverId: string): Promise<void> {
  const jobId = deprovisionJobId(serverId);
  const state = await queue.getJobState(jobId);
  if (state === 'failed' || state === 'completed') await queue.remove(jobId);
  const data: ServerJob = { serverId };
  await queue.add(DEPROVISION_JOB, data, { ...STEP_JOB_OPTIONS, jobId });
}

/**
 * Health checks are cheap to repeat and level-triggered: no retries kept, no history kept; a
 * check that finds its server busy tries again a few times, and the next pass catches the rest.
 */
export const HEAL_JOB_OPTIONS: JobsOptions = { attempts: 5, backoff: { type: 'fixed', delay: 2_000 }, removeOnComplete: true, removeOnFail: true };

export async function enqueueHealthChecks(queue: Queue, serverIds: string[]): Promise<void> {
  if (serverIds.length === 0) return;
  await queue.addBulk(serverIds.map((serverId) => ({ name: HEAL_JOB, data: { serverId } satisfies HealJob, opts: { ...HEAL_JOB_OPTIONS, jobId: healJobId(serverId) } })));
}

/**
 * A check when a repair's backoff ends. Its id names the moment, so checks that computed the
 * same backoff add one job, and it never collides with the check that queued it.
 */
export async function enqueueHealthCheckAt(queue: Queue, serverId: string, at: Date): Promise<void> {
  const data: HealJob = { serverId };
  await queue.add(HEAL_JOB, data, { ...HEAL_JOB_OPTIONS, jobId: `${healJobId(serverId)}.at.${at.getTime()}`, delay: Math.max(0, at.getTime() - Date.now()) });
}

export async function enqueueServerAction(queue: Queue, serverId: string, action: ServerAction, requestId: string): Promise<void> {
  const data: ServerActionJob = { serverId, action, requestId };
  await queue.add(SERVER_ACTION_JOB, data, { ...STEP_JOB_OPTIONS, jobId: serverActionJobId(serverId, requestId) });
}

export async function enqueueServerConfig(queue: Queue, job: ServerConfigJob): Promise<void> {
  await queue.add(SERVER_CONFIG_JOB, job, { ...STEP_JOB_OPTIONS, jobId: serverConfigJobId(job.serverId, job.revision) });
}

export async function enqueueTurnRotation(queue: Queue, job: TurnRotationJob): Promise<void> {
  await queue.add(TURN_ROTATION_JOB, job, { ...STEP_JOB_OPTIONS, jobId: turnRotationJobId(job.serverId, job.version) });
}

export async function enqueueAdminReset(queue: Queue, serverId: string, issuance: number): Promise<void> {
  const data: AdminResetJob = { serverId, issuance };
  await queue.add(ADMIN_RESET_JOB, data, { ...STEP_JOB_OPTIONS, jobId: adminResetJobId(serverId, issuance) });
}

/** The one way to queue a backup row's job: the API's on-demand backups and the schedule's alike. */
export async function enqueueServerBackup(queue: Queue, job: ServerBackupJob): Promise<void> {
  await queue.add(SERVER_BACKUP_JOB, job, { ...STEP_JOB_OPTIONS, jobId: serverBackupJobId(job.backupId) });
}

export async function enqueueServerExport(queue: Queue, job: ServerExportJob): Promise<void> {
  await queue.add(SERVER_EXPORT_JOB, job, { ...STEP_JOB_OPTIONS, jobId: serverExportJobId(job.exportId) });
}

/**
 * Compliance runs are cheap to repeat and their results are stored rows: finished jobs are not
 * kept, so the same id can be queued again for the next run. A run that cannot start (the server
 * busy restarting, say) tries a few more times.
 */
export const COMPLIANCE_JOB_OPTIONS: JobsOptions = { attempts: 3, backoff: { type: 'fixed', delay: 10_000 }, removeOnComplete: true, removeOnFail: true };

/**
 * The one way to queue a server's compliance checks: after its order is ready, and when the API
 * asks again. A run waiting is kept; while one is under way another is queued to run after it
 * (the run itself waits for an earlier one, see the compliance job), so no request is lost.
 */
export async function enqueueComplianceCheck(queue: Queue, job: ServerJob): Promise<void> {
  const underWay = await (await queue.getJob(complianceCheckJobId(job.serverId)))?.isActive();
  const jobId = underWay ? complianceFollowUpJobId(job.serverId) : complianceCheckJobId(job.serverId);
  await queue.add(COMPLIANCE_CHECK_JOB, job, { ...COMPLIANCE_JOB_OPTIONS, jobId });
}

export async function enqueueServerRestore(queue: Queue, job: ServerRestoreJob): Promise<void> {
  await queue.add(SERVER_RESTORE_JOB, job, { ...STEP_JOB_OPTIONS, jobId: serverRestoreJobId(job.serverId, job.requestId) });
}

export async function enqueueServerMove(queue: Queue, job: ServerMoveJob): Promise<void> {
  await queue.add(SERVER_MOVE_JOB, job, { ...STEP_JOB_OPTIONS, jobId: serverMoveJobId(job.serverId, job.requestId) });
}

export async function enqueueNodeDrain(queue: Queue, job: NodeDrainJob): Promise<void> {
  await queue.add(NODE_DRAIN_JOB, job, { ...STEP_JOB_OPTIONS, jobId: nodeDrainJobId(job) });
}

/**
 * The flow's ids are deterministic and finished jobs are kept for days, so adding the flow over
 * them would add nothing: they are removed first, root first (removing a parent takes its
 * children too; `remove` answers 0 for one already gone).
 */
export async function restartProvisioning(queue: Queue, flows: FlowProducer, serverId: string): Promise<void> {
  for (const step of [...PROVISION_STEPS].reverse()) await queue.remove(stepJobId(serverId, step));
  await enqueueProvisioning(flows, serverId);
}
