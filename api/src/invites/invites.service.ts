import type { Queue } from 'bullmq';
import { readerOf, storedFailureText, type Reader } from '../http/failure-text.js';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { PrismaClient } from '../../../prisma/client.js';
import type { Invite } from '../../../prisma/generated/client/client.js';
import { enqueueInviteCreate, enqueueInviteRevoke, inviteUriContext } from '../../../worker/src/contracts/xmpp-user-jobs.js';
import { actorOf, type AuditService } from '../audit/audit.service.js';
import { ownedBy, type Principal } from '../auth/principal.js';
import { notFound } from '../http/problem.js';
import { toPage } from '../http/schemas.js';
import { ChangeRunner } from '../audit/change-runner.js';
import { assertSeatFree, assertTakesChanges, lockOwnedServer } from '../xmpp-users/account-changes.js';

export interface InviteDto {
  id: string;
  serverId: string;
  state: string;
  expiresAt: string;
  revokedAt: string | null;
  lastError: string | null;
  createdAt: string;
}

/**
 * The row's state as the customer should read it: nothing marks an invite expired when its time
 * passes (Prosody just stops accepting it), and a revocation is "revoking" until the worker has
 * taken the invite out of Prosody.
 */
function stateOf(invite: Invite, now: Date): string {
  const open = invite.state === 'pending' || invite.state === 'active';
  if (invite.revokedAt && (open || invite.state === 'failed')) return 'revoking';
  if (open && invite.expiresAt <= now) return 'expired';
  return invite.state;
}

function toDto(invite: Invite, reader: Reader, now = new Date()): InviteDto {
  return {
    id: invite.id,
    serverId: invite.serverId,
    state: stateOf(invite, now),
    expiresAt: invite.expiresAt.toISOString(),
    revokedAt: invite.revokedAt?.toISOString() ?? null,
    lastError: storedFailureText(reader, invite.lastError, invite.lastErrorType),
    createdAt: invite.createdAt.toISOString(),
  };
}

const invitesPath = (serverId: string) => `/api/v1/servers/${serverId}/invites`;

export class InviteService {
  private readonly changes: ChangeRunner;

  constructor(
    private readonly prisma: PrismaClient,
    audit: AuditService,
    private readonly queue: Queue,
    private readonly secrets: FastifyInstance['secrets'],
    log: FastifyBaseLogger,
  ) {
    this.changes = new ChangeRunner(prisma, audit, log);
  }

  /** Every invite of the server, newest first (ids are UUIDv7), without links. */
  async list(principal: Principal, serverId: string, page: { cursor?: string | undefined; limit: number }) {
    const server = await this.prisma.server.findFirst({ where: { id: serverId, deletedAt: null, ...ownedBy(principal) }, select: { id: true } });
    if (!server) throw notFound('server', serverId, 'GET /api/v1/servers');
    const rows = await this.prisma.invite.findMany({
      where: { serverId, ...(page.cursor === undefined ? {} : { id: { lt: page.cursor } }) },
      orderBy: { id: 'desc' },
      take: page.limit + 1,
    });
    const now = new Date();
    return toPage(rows, page.limit, (row) => row.id, (row) => toDto(row, readerOf(principal), now));
  }

  /**
   * The invite, with its link while it can be used. The link registers an account on the
   * server, so it goes to the server's owner only: an operator sees the invite without it.
   */
  async get(principal: Principal, serverId: string, id: string) {
    const invite = await this.prisma.invite.findFirst({
      where: { id, serverId, server: { deletedAt: null, ...ownedBy(principal) } },
      include: { uriSecret: true, server: { select: { accountId: true } } },
    });
    if (!invite) throw notFound('invite', id, `GET ${invitesPath(serverId)}`);
    const dto = toDto(invite, readerOf(principal));
    const secret = invite.uriSecret;
    const usable = dto.state === 'active' && secret !== null && secret.destroyedAt === null && invite.server.accountId === principal.accountId;
    return { ...dto, link: usable ? this.secrets.open(secret, inviteUriContext(id)) : null };
  }

  /** A pending invite expiring when asked; the worker mints it in Prosody and stores its link. */
  async create(principal: Principal, serverId: string, input: { expiresInHours: number }, ip: string): Promise<InviteDto> {
    const invite = await this.changes.run(actorOf(principal, ip), {
      write: async (tx) => {
        const now = new Date();
        const server = await lockOwnedServer(tx, principal, serverId);
        assertTakesChanges(server, readerOf(principal));
        await assertSeatFree(tx, server, now);
        const invite = await tx.invite.create({
          data: { serverId, createdById: principal.accountId, expiresAt: new Date(now.getTime() + input.expiresInHours * 3_600_000) },
        });
        return { result: invite, audit: { action: 'invite.create', targetType: 'invite', targetId: invite.id, detail: { serverId, expiresAt: invite.expiresAt } } };
      },
      enqueue: (invite) => enqueueInviteCreate(this.queue, { serverId, inviteId: invite.id }),
      undo: async (tx, invite) => {
        await tx.invite.deleteMany({ where: { id: invite.id } });
      },
    });
    return toDto(invite, readerOf(principal));
  }

  /** Asks the worker to take the invite out of Prosody; asking again re-queues a revocation that failed. */
  async revoke(principal: Principal, serverId: string, id: string, ip: string): Promise<InviteDto> {
    const { invite } = await this.changes.run(actorOf(principal, ip), {
      write: async (tx) => {
        const server = await lockOwnedServer(tx, principal, serverId);
        const current = await tx.invite.findFirst({ where: { id, serverId } });
        if (!current) throw notFound('invite', id, `GET ${invitesPath(serverId)}`);
        assertTakesChanges(server, readerOf(principal));
        if (current.revokedAt) return { result: { invite: current, previous: current } };
        const invite = await tx.invite.update({ where: { id }, data: { revokedAt: new Date() } });
        return { result: { invite, previous: current }, audit: { action: 'invite.revoke', targetType: 'invite', targetId: id, detail: { serverId } } };
      },
      enqueue: () => enqueueInviteRevoke(this.queue, { serverId, inviteId: id }),
      undo: async (tx, { invite, previous }) => {
        await tx.invite.updateMany({ where: { id, revokedAt: invite.revokedAt }, data: { revokedAt: null, updatedAt: previous.updatedAt } });
      },
    });
    return toDto(invite, readerOf(principal));
  }
}
