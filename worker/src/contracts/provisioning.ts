import { z } from 'zod';
import { HEAL_JOB } from './health.js';

export const PROVISIONING_QUEUE = 'provisioning';

/** The provisioning steps in the order they run; each is one idempotent BullMQ job. */
export const PROVISION_STEPS = ['allocate', 'dns', 'certificate', 'configure', 'container', 'admin_account', 'probe'] as const;
export type ProvisionStep = (typeof PROVISION_STEPS)[number];

/** Jobs on the provisioning queue besides the steps. */
export const DEPROVISION_JOB = 'deprovision';
export const RENEWAL_SCAN_JOB = 'renewal-scan';
export const RECONCILE_JOB = 'reconcile';
export const RENEW_JOB = 'renew';
export const SERVER_ACTION_JOB = 'server-action';
export const ADMIN_RESET_JOB = 'admin-reset';
export const SWEEP_JOB = 'sweep';
export const RESEAL_SECRETS_JOB = 'reseal-secrets';
export const ACCOUNT_CENSUS_JOB = 'account-census';
export const DATABASE_BACKUP_JOB = 'database-backup';
export const SERVER_BACKUP_JOB = 'server-backup';
export const SERVER_RESTORE_JOB = 'server-restore';
export const SERVER_MOVE_JOB = 'server-move';
export const NODE_DRAIN_JOB = 'node-drain';
export const BACKUP_SCHEDULE_JOB = 'backup-schedule';
export const SERVER_EXPORT_JOB = 'server-export';
/** The XEP-0479 compliance checks of a ready server (worker/src/compliance); results are data, never a failed order. */
export const COMPLIANCE_CHECK_JOB = 'compliance-check';
export const SERVER_CONFIG_JOB = 'server-config';
export const TURN_ROTATION_JOB = 'turn-rotation';

/**
 * Every job name on the provisioning queue. The worker refuses to start unless each has exactly
 * one handler: a new kind of job is its name here plus one handler entry in the worker.
 */
export const PROVISIONING_JOBS = [
  ...PROVISION_STEPS,
  DEPROVISION_JOB,
  RENEWAL_SCAN_JOB,
  RECONCILE_JOB,
  RENEW_JOB,
  SERVER_ACTION_JOB,
  ADMIN_RESET_JOB,
  HEAL_JOB,
  SWEEP_JOB,
  RESEAL_SECRETS_JOB,
  ACCOUNT_CENSUS_JOB,
  DATABASE_BACKUP_JOB,
  SERVER_BACKUP_JOB,
  SERVER_RESTORE_JOB,
  SERVER_MOVE_JOB,
  NODE_DRAIN_JOB,
  BACKUP_SCHEDULE_JOB,
  SERVER_EXPORT_JOB,
  SERVER_CONFIG_JOB,
  TURN_ROTATION_JOB,
  COMPLIANCE_CHECK_JOB,
] as const;

export const STEP_STATE = {
  allocate: 'allocating',
  dns: 'dns',
  certificate: 'certificate',
  configure: 'configuring',
  container: 'starting',
  admin_account: 'bootstrapping',
  probe: 'probing',
} as const satisfies Record<ProvisionStep, string>;

/** The states an order passes through on its way to ready, in order. */
export const ORDERING_STATES: ('ordered' | (typeof STEP_STATE)[ProvisionStep])[] = ['ordered', ...PROVISION_STEPS.map((step) => STEP_STATE[step])];

export const STEP_TITLE: Record<ProvisionStep | typeof DEPROVISION_JOB | ServerActionName, string> = {
  allocate: 'Reserve a node and ports',
  dns: 'Publish DNS records',
  certificate: 'Obtain a TLS certificate',
  configure: 'Render the server configuration',
  container: 'Start the XMPP server',
  admin_account: 'Create the admin account',
  probe: 'Log in as the admin to check',
  deprovision: 'Remove the server',
  stop: 'Stop the server',
  start: 'Start the server',
  restart: 'Restart the server',
};

type ServerActionName = 'stop' | 'start' | 'restart';

/** Job payloads carry ids only, never secrets (they sit in Redis in clear). */
export const serverJobSchema = z.object({ serverId: z.uuid() });
export type ServerJob = z.infer<typeof serverJobSchema>;
export const renewJobSchema = z.object({ serverId: z.uuid(), certificateId: z.uuid() });
export type RenewJob = z.infer<typeof renewJobSchema>;
export const SERVER_ACTIONS = ['stop', 'start', 'restart'] as const;
export type ServerAction = (typeof SERVER_ACTIONS)[number];
/** `requestId` makes each customer request its own job; the same request twice is one job. */
export const serverActionJobSchema = z.object({ serverId: z.uuid(), action: z.enum(SERVER_ACTIONS), requestId: z.uuid() });
export type ServerActionJob = z.infer<typeof serverActionJobSchema>;
/** `issuance` is the credential number the reset creates: the current one plus one. */
/** Applies the server's settings (contact addresses) as of change number `revision`. */
export const serverConfigJobSchema = z.object({ serverId: z.uuid(), revision: z.number().int().min(1) });
export type ServerConfigJob = z.infer<typeof serverConfigJobSchema>;
export const serverConfigJobId = (serverId: string, revision: number): string => `server-config.${serverId}.${revision}`;

/** Replaces the server's TURN secret with version `version`. */
export const turnRotationJobSchema = z.object({ serverId: z.uuid(), version: z.number().int().min(2) });
export type TurnRotationJob = z.infer<typeof turnRotationJobSchema>;
export const turnRotationJobId = (serverId: string, version: number): string => `turn-rotation.${serverId}.${version}`;

export const adminResetJobSchema = z.object({ serverId: z.uuid(), issuance: z.number().int().min(2) });
export type AdminResetJob = z.infer<typeof adminResetJobSchema>;

/** Runs the backup row `backupId` (the API or the schedule wrote it). */
export const serverBackupJobSchema = z.object({ serverId: z.uuid(), backupId: z.uuid() });
export type ServerBackupJob = z.infer<typeof serverBackupJobSchema>;
/** Puts the data of backup `backupId` back on its server; `requestId` makes each request its own job. */
export const serverRestoreJobSchema = z.object({ serverId: z.uuid(), backupId: z.uuid(), requestId: z.uuid() });
export type ServerRestoreJob = z.infer<typeof serverRestoreJobSchema>;
/** Moves the server to node `nodeId`; `requestId` is also the id of the backup that carries its data there. */
/**
 * `from`: `running` stops the server and backs it up first; `latest_backup` (its node is lost or
 * cannot be reached) touches nothing on the old node and starts the server from its newest backup.
 */
export const MOVE_SOURCES = ['running', 'latest_backup'] as const;
export type MoveSource = (typeof MOVE_SOURCES)[number];
export const serverMoveJobSchema = z.object({ serverId: z.uuid(), nodeId: z.uuid(), requestId: z.uuid(), from: z.enum(MOVE_SOURCES).default('running') });
export type ServerMoveJob = z.infer<typeof serverMoveJobSchema>;

/**
 * One round of draining node `nodeId` (request `requestId`): the next of its servers moves, then
 * round + 1 is queued, until none is left. Each round's job id names its round, so a retry of a
 * round adds nothing and the rounds of one request never collide.
 */
export const nodeDrainJobSchema = z.object({ nodeId: z.uuid(), requestId: z.uuid(), round: z.number().int().min(0) });
export type NodeDrainJob = z.infer<typeof nodeDrainJobSchema>;

/** Runs the export row `exportId` (the API wrote it): the server's users as one XEP-0227 document. */
export const serverExportJobSchema = z.object({ serverId: z.uuid(), exportId: z.uuid() });
export type ServerExportJob = z.infer<typeof serverExportJobSchema>;

/** The scheduler's jobs (renewal scan, reconcile) carry nothing. */
export const scheduledJobSchema = z.object({});

/** Deterministic ids: enqueueing the same order twice adds nothing the second time. */
export const stepJobId = (serverId: string, step: ProvisionStep): string => `provision.${serverId}.${step}`;
export const deprovisionJobId = (serverId: string): string => `deprovision.${serverId}`;
export const serverActionJobId = (serverId: string, requestId: string): string => `action.${serverId}.${requestId}`;
export const adminResetJobId = (serverId: string, issuance: number): string => `admin-reset.${serverId}.${issuance}`;
export const serverBackupJobId = (backupId: string): string => `backup.${backupId}`;
export const serverExportJobId = (exportId: string): string => `export.${exportId}`;
/** One compliance run per server waiting at a time: queueing it again before it starts adds nothing. */
export const complianceCheckJobId = (serverId: string): string => `compliance.${serverId}`;
/** The run queued while the server's run is under way (it may have looked before the change the caller wants checked). */
export const complianceFollowUpJobId = (serverId: string): string => `compliance.${serverId}.again`;
export const serverRestoreJobId = (serverId: string, requestId: string): string => `restore.${serverId}.${requestId}`;
export const serverMoveJobId = (serverId: string, requestId: string): string => `move.${serverId}.${requestId}`;
export const nodeDrainJobId = (job: NodeDrainJob): string => `drain.${job.nodeId}.${job.requestId}.${job.round}`;
/** One renewal per certificate at a time; a renewed certificate has a new id. */
export const renewJobId = (certificateId: string): string => `renew.${certificateId}`;
