import { UnrecoverableError, type Job } from 'bullmq';
import {
  INVITE_CREATE_JOB,
  INVITE_JOBS,
  inviteJobSchema,
  USER_JOBS,
  userJobSchema,
  XMPP_USERS_JOBS,
  XMPP_USERS_QUEUE,
} from '../contracts/xmpp-user-jobs.js';
import { jobDefiner, JobRegistry, type JobHandler } from '../jobs/job-registry.js';
import { jobContext, trackedStep, type TrackedStep } from '../jobs/tracked-step.js';
import { Timeline } from '../provisioning/timeline.js';
import type { XmppUsersDeps } from './deps.js';
import { createInvite } from './invite-create.js';
import { revokeInvite } from './invite-revoke.js';
import { runUserJob } from './user-jobs.js';

/** What every job on the xmpp-users queue is given. */
export interface XmppUsersJobContext {
  deps: XmppUsersDeps;
  timeline: Timeline;
}

/**
 * Records a user or invite job's outcome on the server's timeline (the job name is the step; no
 * `started` event, so a burst of requests stays readable). Messages name accounts, never
 * passwords or invite URIs.
 */
async function trackedRequest(
  { deps, timeline }: XmppUsersJobContext,
  job: Job,
  request: { serverId: string; detail: Record<string, string>; onFailure: TrackedStep['onFailure'] },
  run: () => Promise<string>,
): Promise<string> {
  // The timeline hangs off the server row; without it there is nowhere to report to.
  if ((await deps.prisma.server.count({ where: { id: request.serverId } })) === 0) throw new UnrecoverableError(`no server ${request.serverId}`);
  return trackedStep({ timeline, serverId: request.serverId, step: job.name, context: jobContext(job, request.detail), onFailure: request.onFailure }, run);
}

const job = jobDefiner<XmppUsersJobContext>();

/** The handlers of the xmpp-users queue, one per name in XMPP_USERS_JOBS. */
export const XMPP_USERS_HANDLERS: readonly JobHandler<XmppUsersJobContext>[] = [
  ...USER_JOBS.map((name) =>
    job(name, userJobSchema, (context, data, bullJob) =>
      trackedRequest(
        context,
        bullJob,
        {
          serverId: data.serverId,
          detail: { userId: data.userId },
          // The row keeps its state (a user has no failed state): pending or deleting, with the reason.
          onFailure: async ({ reason }) => {
            await context.deps.prisma.xmppUser.updateMany({ where: { id: data.userId }, data: { lastError: reason } });
          },
        },
        () => runUserJob(context.deps, name, data),
      ),
    ),
  ),
  ...INVITE_JOBS.map((name) =>
    job(name, inviteJobSchema, (context, data, bullJob) =>
      trackedRequest(
        context,
        bullJob,
        {
          serverId: data.serverId,
          detail: { inviteId: data.inviteId },
          onFailure: async ({ reason, willRetry }) => {
            await context.deps.prisma.invite.updateMany({ where: { id: data.inviteId }, data: { lastError: reason } });
            // An invite that could not be created is failed; a revocation that failed is retried by
            // enqueueing it again, and the invite stays what it was.
            if (name === INVITE_CREATE_JOB && !willRetry) {
              await context.deps.prisma.invite.updateMany({ where: { id: data.inviteId, state: 'pending' }, data: { state: 'failed' } });
            }
          },
        },
        () => (name === INVITE_CREATE_JOB ? createInvite(context.deps, data) : revokeInvite(context.deps, data)),
      ),
    ),
  ),
];

/** Throws JobRegistryError when a declared job has no handler or two: the worker refuses to start. */
export function xmppUsersRegistry(): JobRegistry<XmppUsersJobContext> {
  return new JobRegistry(XMPP_USERS_QUEUE, XMPP_USERS_JOBS, XMPP_USERS_HANDLERS);
}

/**
 * The xmpp-users queue's processor: makes Prosody agree with the user and invite rows, keeps a
 * failure's reason on the row, and tells BullMQ whether retrying can help.
 */
export function createXmppUsersProcessor(deps: XmppUsersDeps): (job: Job) => Promise<string> {
  return xmppUsersRegistry().processor({ deps, timeline: new Timeline(deps.prisma) });
}
