import type { Job, JobsOptions, Queue } from 'bullmq';
import { z } from 'zod';
import type { SecretSealer } from '../crypto/secret-sealer.js';

// The contract between the API (writes rows, seals secrets, enqueues) and the worker (makes
// Prosody agree with the rows). Payloads carry ids only: passwords and invite URIs are sealed
// into EncryptedSecret rows by whoever creates them, and never travel through Redis.

export const XMPP_USERS_QUEUE = 'xmpp-users';

export const USER_CREATE_JOB = 'user.create';
export const USER_DELETE_JOB = 'user.delete';
export const USER_RESET_PASSWORD_JOB = 'user.reset-password';
export const INVITE_CREATE_JOB = 'invite.create';
export const INVITE_REVOKE_JOB = 'invite.revoke';

export const USER_JOBS = [USER_CREATE_JOB, USER_DELETE_JOB, USER_RESET_PASSWORD_JOB] as const;
export type UserJobName = (typeof USER_JOBS)[number];
export const INVITE_JOBS = [INVITE_CREATE_JOB, INVITE_REVOKE_JOB] as const;
export type InviteJobName = (typeof INVITE_JOBS)[number];
/** Every job name on the xmpp-users queue; the worker refuses to start unless each has exactly one handler. */
export const XMPP_USERS_JOBS = [...USER_JOBS, ...INVITE_JOBS] as const;

/**
 * `secretId` is the user's password secret at the time of the request. A user row is reused when
 * its localpart is taken again, and every reset seals a new secret, so (user, secret) names one
 * request: the job id stays unique per request while a retried HTTP call still adds nothing.
 */
export const userJobSchema = z.object({ serverId: z.uuid(), userId: z.uuid(), secretId: z.uuid() });
export type UserJob = z.infer<typeof userJobSchema>;
export const inviteJobSchema = z.object({ serverId: z.uuid(), inviteId: z.uuid() });
export type InviteJob = z.infer<typeof inviteJobSchema>;

export const userJobId = (name: UserJobName, job: Pick<UserJob, 'userId' | 'secretId'>): string => `${name}.${job.userId}.${job.secretId}`;
export const inviteJobId = (name: InviteJobName, inviteId: string): string => `${name}.${inviteId}`;

/**
 * About eight minutes of retries (1 s doubling), so a server still provisioning delays the
 * request instead of failing it. Built-in backoff: the queue needs no custom strategy. A failed
 * job is removed so the API may enqueue the same request again once the cause is fixed; the
 * reason stays on the row (lastError) and the timeline.
 */
export const XMPP_USER_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: true,
};

/** Associated data binding a sealed password to its user: a row copied onto another user does not open. */
export const xmppUserPasswordContext = (userId: string): string => `xmpp_user_password:${userId}`;
/** Associated data binding a sealed invite URI to its invite. */
export const inviteUriContext = (inviteId: string): string => `invite_uri:${inviteId}`;

/**
 * The EncryptedSecret row data for a user's password (Parley's or the customer's choice: the
 * worker can only set what it can open). Prosody reads the password from stdin one line at a
 * time, so a password with a line break or NUL is refused here, before anything is stored.
 */
export function sealUserPassword(secrets: Pick<SecretSealer, 'seal'>, userId: string, password: string) {
  if (password.length === 0 || /[\r\n\0]/.test(password)) throw new Error('a password must be non-empty and a single line');
  return secrets.seal('xmpp_user_password', password, xmppUserPasswordContext(userId));
}

/** Any user job by name: the reconciler queues a request whose row it found but whose job it did not. */
export async function enqueueUserJob(queue: Queue, name: UserJobName, job: UserJob): Promise<Job> {
  const data = userJobSchema.parse(job);
  return queue.add(name, data, { ...XMPP_USER_JOB_OPTIONS, jobId: userJobId(name, data) });
}

/** Any invite job by name, likewise. */
export async function enqueueInviteJob(queue: Queue, name: InviteJobName, job: InviteJob): Promise<Job> {
  const data = inviteJobSchema.parse(job);
  return queue.add(name, data, { ...XMPP_USER_JOB_OPTIONS, jobId: inviteJobId(name, data.inviteId) });
}

/** After writing the row (state pending) and sealing its password into `secretId`. */
export const enqueueUserCreate = (queue: Queue, job: UserJob) => enqueueUserJob(queue, USER_CREATE_JOB, job);
/** After sealing the new password into a new secret and pointing the row's secretId at it. */
export const enqueueUserPasswordReset = (queue: Queue, job: UserJob) => enqueueUserJob(queue, USER_RESET_PASSWORD_JOB, job);
/** After setting the row's state to `deleting`; `secretId` is the row's current one. */
export const enqueueUserDelete = (queue: Queue, job: UserJob) => enqueueUserJob(queue, USER_DELETE_JOB, job);
/** After writing the invite row (state pending, expiresAt as the customer asked). */
export const enqueueInviteCreate = (queue: Queue, job: InviteJob) => enqueueInviteJob(queue, INVITE_CREATE_JOB, job);
/** After setting the row's revokedAt (the request); the worker sets state `revoked` once Prosody agrees. */
export const enqueueInviteRevoke = (queue: Queue, job: InviteJob) => enqueueInviteJob(queue, INVITE_REVOKE_JOB, job);
