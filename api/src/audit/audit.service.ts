import { isIP } from 'node:net';
import type { PrismaClient } from '../../../prisma/client.js';
import type { ActorKind, AccountRole } from '../../../prisma/generated/client/enums.js';
import type { Prisma } from '../../../prisma/generated/client/client.js';
import type { Principal } from '../auth/principal.js';
import { toPage } from '../http/schemas.js';

/** Who did it, from where. Built by actorOf(principal, ip) or accountActor(...) at log-in. */
export interface AuditActor {
  actorId: string;
  apiTokenId: string | null;
  actorKind: ActorKind;
  ip: string | null;
}

export interface AuditEntry {
  /** Dotted verb: "<target>.<verb>", e.g. "token.revoke", "server.create". */
  action: string;
  targetType: string;
  targetId: string | null;
  /** What a person reading the log needs (names, counts); keys that smell of secrets are dropped. */
  detail?: Record<string, unknown>;
}

/** The client or a transaction: write the audit row in the same transaction as the change. */
export type AuditWriter = Prisma.TransactionClient;

/**
 * The account that owns the target: what its owner's log shows, whoever acted (an operator, say).
 * Read in the writer's transaction, so a target created in it is found.
 */
async function subjectAccountOf(db: AuditWriter, targetType: string, targetId: string | null): Promise<string | null> {
  if (targetId === null) return null;
  const select = { accountId: true } as const;
  switch (targetType) {
    case 'account':
      return targetId;
    case 'server':
      return (await db.server.findUnique({ where: { id: targetId }, select }))?.accountId ?? null;
    case 'domain':
      return (await db.domain.findUnique({ where: { id: targetId }, select }))?.accountId ?? null;
    case 'api_token':
      return (await db.apiToken.findUnique({ where: { id: targetId }, select }))?.accountId ?? null;
    case 'session':
      return (await db.session.findUnique({ where: { id: targetId }, select }))?.accountId ?? null;
    case 'xmpp_user':
      return (await db.xmppUser.findUnique({ where: { id: targetId }, select: { server: { select } } }))?.server.accountId ?? null;
    case 'server_import':
      return (await db.serverImport.findUnique({ where: { id: targetId }, select }))?.accountId ?? null;
    case 'invite':
      return (await db.invite.findUnique({ where: { id: targetId }, select: { server: { select } } }))?.server.accountId ?? null;
    default:
      return null;
  }
}

export function actorOf(principal: Principal, ip: string): AuditActor {
  return {
    actorId: principal.accountId,
    apiTokenId: principal.tokenId ?? null,
    actorKind: principal.via === 'token' ? 'api_token' : principal.role,
    ip: isIP(ip) ? ip : null,
  };
}

/** For the requests that create the principal (sign-up, log-in). */
export function accountActor(account: { id: string; role: AccountRole }, ip: string): AuditActor {
  return { actorId: account.id, apiTokenId: null, actorKind: account.role, ip: isIP(ip) ? ip : null };
}

const SECRET_KEY = /pass(word)?|secret|hash|cookie|csrf|^token$|private/i;

function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([key]) => !SECRET_KEY.test(key)).map(([key, v]) => [key, withoutSecrets(v)]));
  }
  return value;
}

export interface AuditLogDto {
  id: string;
  action: string;
  actorId: string | null;
  actorKind: ActorKind;
  apiTokenId: string | null;
  targetType: string;
  targetId: string | null;
  ip: string | null;
  detail: unknown;
  createdAt: string;
}

export class AuditService {
  constructor(private readonly prisma: PrismaClient) {}

  async record(db: AuditWriter, actor: AuditActor, entry: AuditEntry): Promise<void> {
    await db.auditLog.create({
      data: {
        ...actor,
        action: entry.action,
        targetType: entry.targetType,
        targetId: entry.targetId,
        subjectAccountId: await subjectAccountOf(db, entry.targetType, entry.targetId),
        detail: entry.detail === undefined ? undefined : (withoutSecrets(entry.detail) as Prisma.InputJsonObject),
      },
    });
  }

  /**
   * Newest first. Customers read what they (or their tokens) did and what anyone, operators
   * included, did to their resources; operators read everything.
   */
  async list(principal: Principal, page: { cursor?: string | undefined; limit: number }) {
    const rows = await this.prisma.auditLog.findMany({
      where: {
        ...(principal.role === 'operator' ? {} : { OR: [{ actorId: principal.accountId }, { subjectAccountId: principal.accountId }] }),
        ...(page.cursor === undefined ? {} : { id: { lt: BigInt(page.cursor) } }),
      },
      orderBy: { id: 'desc' },
      take: page.limit + 1,
    });
    return toPage(rows, page.limit, (row) => row.id.toString(), (row): AuditLogDto => ({
      // bigint ids travel as strings: JSON numbers lose precision past 2^53.
      id: row.id.toString(),
      action: row.action,
      actorId: row.actorId,
      actorKind: row.actorKind,
      apiTokenId: row.apiTokenId,
      targetType: row.targetType,
      targetId: row.targetId,
      ip: row.ip,
      detail: row.detail,
      createdAt: row.createdAt.toISOString(),
    }));
  }
}
