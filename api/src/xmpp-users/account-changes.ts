import type { Prisma } from '../../../prisma/generated/client/client.js';
import { storedFailureText, type Reader } from '../http/failure-text.js';
import { ownedBy, type Principal } from '../auth/principal.js';
import { counted } from '../../../worker/src/contracts/counted.js';
import { HttpProblem, notFound } from '../http/problem.js';
import type { Tx } from '../audit/change-runner.js';

// What XMPP users and invites share: the owned server they live on and its seat quota.

export type { Tx };
export type ServerWithPlan = Prisma.ServerGetPayload<{ include: { plan: true } }>;

/**
 * The caller's server, locked for the rest of the transaction: user and invite writes on one
 * server run one at a time, so the quota count and the "localpart taken" check stay true until
 * commit.
 */
export async function lockOwnedServer(tx: Tx, principal: Principal, serverId: string): Promise<ServerWithPlan> {
  const server = await tx.server.findFirst({ where: { id: serverId, deletedAt: null, ...ownedBy(principal) }, include: { plan: true } });
  if (!server) throw notFound('server', serverId, 'GET /api/v1/servers');
  await tx.$queryRaw`SELECT 1 FROM servers WHERE id = ${serverId}::uuid FOR UPDATE`;
  return server;
}

/** The worker acts only on a ready, running server; anything else would sit in its retries and fail. */
export function assertTakesChanges(server: ServerWithPlan, reader: Reader): void {
  const events = `GET /api/v1/servers/${server.id}/events`;
  if (server.desiredState === 'deleted' || server.state === 'deprovisioning' || server.state === 'deleted') {
    throw new HttpProblem(409, 'Server is being deleted', 'The server is being deleted, together with its users and invites.');
  }
  if (server.state === 'stopped' || server.desiredState === 'stopped') {
    throw new HttpProblem(
      409,
      'Server is stopped',
      `The server is stopped. Start it (POST /api/v1/servers/${server.id}/actions with {"action":"start"}) and try again once it is ready.`,
    );
  }
  if (server.state === 'failed') {
    throw new HttpProblem(409, 'Server failed', `The server is not running (${storedFailureText(reader, server.stateReason, server.stateReasonType) ?? 'it failed'}); see ${events}.`);
  }
  if (server.state !== 'ready') {
    throw new HttpProblem(409, 'Server not ready yet', `The server is still being set up (it is ${server.state}); try again once it is ready. Watch ${events}.`);
  }
}

/**
 * Every account and every open invite holds one of the plan's seats. Accounts are those the
 * worker's census last found in Prosody (an account made through an invite has no user row, and
 * its used invite is no longer open) together with the user rows: one created since the census
 * is not in it yet, one deleted since the census is no longer in Prosody.
 */
export async function assertSeatFree(tx: Tx, server: ServerWithPlan, now: Date): Promise<void> {
  const rows = await tx.xmppUser.findMany({ where: { serverId: server.id }, select: { localpart: true, state: true, updatedAt: true } });
  const accounts = seatedAccounts(server, rows);
  const users = accounts.size;
  const invites = await tx.invite.count({ where: { serverId: server.id, state: { in: ['pending', 'active'] }, revokedAt: null, expiresAt: { gt: now } } });
  const limit = server.plan.maxUsersPerServer;
  if (users + invites < limit) return;
  throw new HttpProblem(
    409,
    'User quota reached',
    `Your ${server.plan.name} plan allows ${counted(limit, 'user')} per server, and ${counted(users, 'account')} and ${counted(invites, 'open invite')} take them all. ` +
      `Delete a user (DELETE /api/v1/servers/${server.id}/users/{id}) or revoke an invite (DELETE /api/v1/servers/${server.id}/invites/{id}), or move to a bigger plan.`,
  );
}

function seatedAccounts(
  server: Pick<ServerWithPlan, 'prosodyAccounts' | 'accountsCountedAt'>,
  rows: readonly { localpart: string; state: string; updatedAt: Date }[],
): Set<string> {
  const countedAt = server.accountsCountedAt;
  const accounts = new Set(countedAt === null ? [] : server.prosodyAccounts);
  for (const row of rows) {
    if (row.state !== 'deleted') accounts.add(row.localpart);
    else if (countedAt !== null && row.updatedAt > countedAt) accounts.delete(row.localpart);
  }
  return accounts;
}
