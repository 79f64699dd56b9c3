import { UnrecoverableError, type Job } from 'bullmq';
import type { z } from 'zod';
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
import { jobContext, trackedStep, type StepFailure } from '../jobs/tracked-step.js';
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

/** One user or invite request: the server it is on, what it names, how to run it, and what its failure changes. */
interface AccountRequest {
  serverId: string;
  detail: Record<string, string>;
  run: () => Promise<string>;
  onFailure: (failure: StepFailure) => Promise<void>;
}

const job = jobDefiner<XmppUsersJobContext>();

/**
 * A handler that records the request's outcome on the server's timeline (the job name is the
 * step; no `started` event, so a burst of requests stays readable). Messages name accounts,
 * never passwords or invite URIs.
 */
function accountJob<Payload>(name: string, schema: z.ZodType<Payload>, request: (deps: XmppUsersDeps, payload: Payload) => AccountRequest) {
  return job(name, schema, async ({ deps, timeline }, payload, bullJob) => {
    const { serverId, detail, run, onFailure } = request(deps, payload);
    // The timeline hangs off the server row; without it there is nowhere to report to.
    if ((await deps.prisma.server.count({ where: { id: serverId } })) === 0) throw new UnrecoverableError(`no server ${serverId}`);
    return trackedStep({ timeline, serverId, step: name, context: jobContext(bullJob, detail), onFailure }, run);
  });
}

/** The handlers of the xmpp-users queue, one per name in XMPP_USERS_JOBS. */
export const XMPP_USERS_HANDLERS: readonly JobHandler<XmppUsersJobContext>[] = [
  ...USER_JOBS.map((name) =>
    accountJob(name, userJobSchema, (deps, data) => ({
      serverId: data.serverId,
      detail: { userId: data.userId },
      run: () => runUserJob(deps, name, data),
      // The row keeps its state (a user has no failed state): pending or deleting, with the reason.
      onFailure: async ({ reason, errorType }) => {
        await deps.prisma.xmppUser.updateMany({ where: { id: data.userId }, data: { lastError: reason, lastErrorType: errorType } });
      },
    })),
  ),
  ...INVITE_JOBS.map((name) =>
    accountJob(name, inviteJobSchema, (deps, data) => ({
      serverId: data.serverId,
      detail: { inviteId: data.inviteId },
      run: () => (name === INVITE_CREATE_JOB ? createInvite(deps, data) : revokeInvite(deps, data)),
      onFailure: async ({ reason, willRetry, errorType }) => {
        await deps.prisma.invite.updateMany({ where: { id: data.inviteId }, data: { lastError: reason, lastErrorType: errorType } });
        // An invite that could not be created is failed; a revocation that failed is retried by
        // enqueueing it again, and the invite stays what it was.
        if (name === INVITE_CREATE_JOB && !willRetry) {
          await deps.prisma.invite.updateMany({ where: { id: data.inviteId, state: 'pending' }, data: { state: 'failed' } });
        }
      },
    })),
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
export function createXmppUsersProcessor(deps: XmppUsersDeps, deadlineMs: number): (job: Job) => Promise<string> {
  return xmppUsersRegistry().processor({ deps, timeline: new Timeline(deps.prisma) }, deadlineMs);
}
