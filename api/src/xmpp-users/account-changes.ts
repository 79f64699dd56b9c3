import type { FastifyBaseLogger } from 'fastify';
import type { PrismaClient } from '../../../prisma/client.js';
import type { Prisma } from '../../../prisma/generated/client/client.js';
import { type AuditActor, type AuditEntry, type AuditService } from '../audit/audit.service.js';
import { ownedBy, type Principal } from '../auth/principal.js';
import { counted } from '../http/counted.js';
import { HttpProblem, notFound } from '../http/problem.js';

// What XMPP users and invites share: the owned server they live on, its seat quota, and how a
// change reaches the worker.

export type Tx = Prisma.TransactionClient;
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
export function assertTakesChanges(server: ServerWithPlan): void {
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
    throw new HttpProblem(409, 'Server failed', `The server is not running (${server.stateReason ?? 'it failed'}); see ${events}.`);
  }
  if (server.state !== 'ready') {
    throw new HttpProblem(409, 'Server not ready yet', `The server is still being set up (it is ${server.state}); try again once it is ready. Watch ${events}.`);
  }
}

/**
 * Every account and every open invite holds one of the plan's seats: an invite becomes an
 * account when redeemed, without a user row, so counting users alone would let invites bypass
 * the quota.
 */
export async function assertSeatFree(tx: Tx, server: ServerWithPlan, now: Date): Promise<void> {
  const users = await tx.xmppUser.count({ where: { serverId: server.id, state: { not: 'deleted' } } });
  const invites = await tx.invite.count({ where: { serverId: server.id, state: { in: ['pending', 'active'] }, revokedAt: null, expiresAt: { gt: now } } });
  const limit = server.plan.maxUsersPerServer;
  if (users + invites < limit) return;
  throw new HttpProblem(
    409,
    'User quota reached',
    `Your ${server.plan.name} plan allows ${counted(limit, 'user')} per server, and ${counted(users, 'user')} and ${counted(invites, 'open invite')} take them all. ` +
      `Delete a user (DELETE /api/v1/servers/${server.id}/users/{id}) or revoke an invite (DELETE /api/v1/servers/${server.id}/invites/{id}), or move to a bigger plan.`,
  );
}

export interface Change<T> {
  /** The rows; `audit` is what to record, or absent when nothing was written (a repeated request). */
  write(tx: Tx): Promise<{ result: T; audit?: AuditEntry }>;
  enqueue(result: T): Promise<unknown>;
  /** Reverses `write` when the job could not be queued; guarded, in case a later request moved the rows on. */
  undo(tx: Tx, result: T): Promise<void>;
}

/**
 * Commits a change, then queues its job. Not the other way round: the worker finishes a job whose
 * row it cannot see yet as "nothing to do", and BullMQ keeps a finished job's id for days, so a
 * job that ran before the commit would leave the request undone for good. When queueing fails
 * (Redis down) the commit is undone, audit row included, and the error answers 503: a failed
 * request has written nothing.
 */
export class ChangeRunner {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly audit: AuditService,
    private readonly log: FastifyBaseLogger,
  ) {}

  async run<T>(actor: AuditActor, change: Change<T>): Promise<T> {
    const { result, auditId } = await this.prisma.$transaction(async (tx) => {
      const written = await change.write(tx);
      if (!written.audit) return { result: written.result, auditId: null };
      await this.audit.record(tx, actor, written.audit);
      // currval is per connection, and the transaction holds one: this is our audit row's id.
      const [row] = await tx.$queryRaw<[{ id: bigint }]>`SELECT currval(pg_get_serial_sequence('audit_logs', 'id')) AS id`;
      return { result: written.result, auditId: row.id };
    });
    try {
      await change.enqueue(result);
    } catch (error) {
      if (auditId !== null) {
        await this.prisma
          .$transaction(async (tx) => {
            await change.undo(tx, result);
            await tx.auditLog.deleteMany({ where: { id: auditId } });
          })
          .catch((undoError: unknown) => this.log.error({ err: undoError }, 'a change whose job could not be queued was not undone'));
      }
      throw error;
    }
    return result;
  }
}
