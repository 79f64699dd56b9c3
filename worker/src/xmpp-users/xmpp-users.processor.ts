import { UnrecoverableError, type Job } from 'bullmq';
import type { z } from 'zod';
import { describeError } from '../contracts/dependency-check.js';
import {
  INVITE_CREATE_JOB,
  INVITE_JOBS,
  inviteJobSchema,
  USER_JOBS,
  userJobSchema,
  type InviteJobName,
  type UserJobName,
} from '../contracts/xmpp-user-jobs.js';
import { InvalidUsernameError } from '../contracts/xmpp-names.js';
import { PermanentStepError } from '../provisioning/step-errors.js';
import { failureMessage, Timeline } from '../provisioning/timeline.js';
import type { XmppUsersDeps } from './deps.js';
import { createInvite } from './invite-create.js';
import { revokeInvite } from './invite-revoke.js';
import { runUserJob } from './user-jobs.js';

/** One parsed job: what it acts on, how to run it, and where its failure is shown. */
interface Task {
  serverId: string;
  detail: Record<string, string>;
  run(): Promise<string>;
  recordFailure(reason: string, final: boolean): Promise<void>;
}

/**
 * Runs the jobs of the xmpp-users queue: records each outcome on the server's timeline (the job
 * name is the step), keeps the reason of a failure on the user's or invite's row, and tells
 * BullMQ whether retrying can help. Messages name accounts, never passwords or invite URIs.
 */
export function createXmppUsersProcessor(deps: XmppUsersDeps) {
  const timeline = new Timeline(deps.prisma);

  return async (job: Job): Promise<string> => {
    const task = parseTask(deps, job);
    // The timeline hangs off the server row; without it there is nowhere to report to.
    if ((await deps.prisma.server.count({ where: { id: task.serverId } })) === 0) throw new UnrecoverableError(`no server ${task.serverId}`);
    const attempt = job.attemptsMade + 1;
    const attempts = job.opts.attempts ?? 1;
    const context = { attempt, attempts, detail: task.detail, ...(job.id ? { jobId: job.id } : {}) };
    try {
      const message = await task.run();
      await timeline.record(task.serverId, job.name, 'succeeded', message, context);
      return message;
    } catch (error) {
      const permanent = error instanceof PermanentStepError || error instanceof InvalidUsernameError || error instanceof UnrecoverableError;
      const final = permanent || attempt >= attempts;
      const reason = describeError(error);
      await task.recordFailure(reason, final);
      await timeline.record(task.serverId, job.name, 'failed', failureMessage(reason, context, permanent), context);
      if (permanent) throw new UnrecoverableError(reason);
      throw error;
    }
  };
}

function parseTask(deps: XmppUsersDeps, job: Job): Task {
  if (isOneOf(USER_JOBS, job.name)) {
    const data = parsePayload(userJobSchema, job);
    const name: UserJobName = job.name;
    return {
      serverId: data.serverId,
      detail: { userId: data.userId },
      run: () => runUserJob(deps, name, data),
      // The row keeps its state (a user has no failed state): pending or deleting, with the reason.
      recordFailure: async (reason) => {
        await deps.prisma.xmppUser.updateMany({ where: { id: data.userId }, data: { lastError: reason } });
      },
    };
  }
  if (isOneOf(INVITE_JOBS, job.name)) {
    const data = parsePayload(inviteJobSchema, job);
    const name: InviteJobName = job.name;
    return {
      serverId: data.serverId,
      detail: { inviteId: data.inviteId },
      run: () => (name === INVITE_CREATE_JOB ? createInvite(deps, data) : revokeInvite(deps, data)),
      recordFailure: async (reason, final) => {
        await deps.prisma.invite.updateMany({ where: { id: data.inviteId }, data: { lastError: reason } });
        // An invite that could not be created is failed; a revocation that failed is retried by
        // enqueueing it again, and the invite stays what it was.
        if (final && name === INVITE_CREATE_JOB) {
          await deps.prisma.invite.updateMany({ where: { id: data.inviteId, state: 'pending' }, data: { state: 'failed' } });
        }
      },
    };
  }
  throw new UnrecoverableError(`unknown job ${job.name}`);
}

function parsePayload<T>(schema: z.ZodType<T>, job: Job): T {
  const parsed = schema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`malformed payload for ${job.name}`);
  return parsed.data;
}

function isOneOf<T extends string>(names: readonly T[], name: string): name is T {
  return (names as readonly string[]).includes(name);
}
