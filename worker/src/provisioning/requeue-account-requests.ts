import { INVITE_CREATE_JOB, INVITE_REVOKE_JOB, USER_CREATE_JOB, USER_DELETE_JOB } from '../contracts/xmpp-user-jobs.js';
import type { StepDeps } from './step-deps.js';

/** Users and invites on a server that is going away are its deletion's business. */
const liveServer = { deletedAt: null, desiredState: { not: 'deleted' as const } };

/**
 * User and invite requests whose row was written but whose job never reached the queue (the API
 * died between its commit and the enqueue): each is queued under its deterministic job id, so
 * one still in the queue is kept. A row with lastError did reach the worker, which recorded why
 * it failed; the customer repeats that request.
 */
export async function requeueAccountRequests(deps: StepDeps, before: Date, now = new Date()): Promise<{ users: number; invites: number }> {
  const [users, invites] = await Promise.all([
    deps.prisma.xmppUser.findMany({
      where: { state: { in: ['pending', 'deleting'] }, lastError: null, secretId: { not: null }, updatedAt: { lte: before }, server: liveServer },
      select: { id: true, serverId: true, state: true, secretId: true },
    }),
    deps.prisma.invite.findMany({
      where: {
        lastError: null,
        updatedAt: { lte: before },
        server: liveServer,
        OR: [
          { state: 'pending', revokedAt: null, expiresAt: { gt: now } },
          // Revoking changes only these states; a redeemed or expired invite keeps its own.
          { revokedAt: { not: null }, state: { in: ['pending', 'active', 'failed'] } },
        ],
      },
      select: { id: true, serverId: true, revokedAt: true },
    }),
  ]);
  for (const user of users) {
    if (!user.secretId) continue;
    await deps.jobs.enqueueUserJob(user.state === 'deleting' ? USER_DELETE_JOB : USER_CREATE_JOB, { serverId: user.serverId, userId: user.id, secretId: user.secretId });
  }
  for (const invite of invites) {
    await deps.jobs.enqueueInviteJob(invite.revokedAt ? INVITE_REVOKE_JOB : INVITE_CREATE_JOB, { serverId: invite.serverId, inviteId: invite.id });
  }
  return { users: users.length, invites: invites.length };
}
