import type { PrismaClient } from '../../../prisma/client.js';
import type { ApiToken } from '../../../prisma/generated/client/client.js';
import { actorOf, type AuditService } from '../audit/audit.service.js';
import { newApiToken, sha256 } from '../auth/credentials.js';
import { ownedBy, type Principal } from '../auth/principal.js';
import { notFound } from '../http/problem.js';
import { toPage } from '../http/schemas.js';

export interface ApiTokenDto {
  id: string;
  accountId: string;
  name: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

function toDto(token: ApiToken): ApiTokenDto {
  return {
    id: token.id,
    accountId: token.accountId,
    name: token.name,
    prefix: token.prefix,
    createdAt: token.createdAt.toISOString(),
    expiresAt: token.expiresAt?.toISOString() ?? null,
    lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
  };
}

export class TokenService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly audit: AuditService,
  ) {}

  /** The token in clear is in the answer once and nowhere else: only its hash is kept. */
  async create(principal: Principal, input: { name: string; expiresInDays?: number | undefined }, ip: string) {
    const { token, prefix } = newApiToken();
    const expiresAt = input.expiresInDays === undefined ? null : new Date(Date.now() + input.expiresInDays * 86_400_000);
    const created = await this.prisma.$transaction(async (tx) => {
      const row = await tx.apiToken.create({
        data: { accountId: principal.accountId, name: input.name, prefix, tokenHash: sha256(token), expiresAt },
      });
      await this.audit.record(tx, actorOf(principal, ip), {
        action: 'token.create',
        targetType: 'api_token',
        targetId: row.id,
        detail: { name: row.name, prefix, expiresAt },
      });
      return row;
    });
    return { token: toDto(created), secret: token };
  }

  /** Live (unrevoked) tokens, newest first; ids are UUIDv7, so id order is creation order. */
  async list(principal: Principal, page: { cursor?: string | undefined; limit: number }) {
    const rows = await this.prisma.apiToken.findMany({
      where: { ...ownedBy(principal), revokedAt: null, ...(page.cursor === undefined ? {} : { id: { lt: page.cursor } }) },
      orderBy: { id: 'desc' },
      take: page.limit + 1,
    });
    return toPage(rows, page.limit, (row) => row.id, toDto);
  }

  async revoke(principal: Principal, id: string, ip: string): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const token = await tx.apiToken.findFirst({ where: { id, revokedAt: null, ...ownedBy(principal) } });
      if (!token) throw notFound('live API token', id, 'GET /api/v1/tokens');
      await tx.apiToken.update({ where: { id }, data: { revokedAt: new Date() } });
      await this.audit.record(tx, actorOf(principal, ip), {
        action: 'token.revoke',
        targetType: 'api_token',
        targetId: id,
        detail: { name: token.name, prefix: token.prefix, owner: token.accountId },
      });
    });
  }
}
