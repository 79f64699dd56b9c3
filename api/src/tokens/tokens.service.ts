import type { PrismaClient } from '../../../prisma/client.js';
import type { ApiToken } from '../../../prisma/generated/client/client.js';
import type { ApiTokenScope } from '../../../prisma/generated/client/enums.js';
import { actorOf, type AuditService } from '../audit/audit.service.js';
import { newApiToken, sha256 } from '../auth/credentials.js';
import { ownedBy, type Principal } from '../auth/principal.js';
import { HttpProblem, notFound } from '../http/problem.js';
import { OPERATOR_TOKEN_MAX_DAYS } from '../auth/token-scope.js';
import { toPage } from '../http/schemas.js';

export interface ApiTokenDto {
  id: string;
  accountId: string;
  name: string;
  prefix: string;
  scope: ApiTokenScope;
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
    scope: token.scope,
    createdAt: token.createdAt.toISOString(),
    expiresAt: token.expiresAt?.toISOString() ?? null,
    lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
  };
}

/**
 * An operator-scoped token is minted by an operator in person (a logged-in session, not another
 * token, so a leaked token cannot make a stronger one) and always expires.
 */
function assertMayScope(principal: Principal, input: { scope: ApiTokenScope; expiresInDays?: number | undefined }): void {
  if (input.scope === 'account') return;
  if (principal.role !== 'operator' || principal.via !== 'session') {
    throw new HttpProblem(403, 'Operator scope not allowed', `Only an operator logged in to the dashboard or through POST /api/v1/sessions can create a token with the ${input.scope} scope; leave scope out for a token that acts on your own account.`);
  }
  if (input.expiresInDays === undefined || input.expiresInDays > OPERATOR_TOKEN_MAX_DAYS) {
    throw new HttpProblem(400, 'Operator tokens must expire', `A token with the ${input.scope} scope must set expiresInDays, at most ${OPERATOR_TOKEN_MAX_DAYS}.`, {
      errors: [{ in: 'body', field: 'expiresInDays', message: `must be set, at most ${OPERATOR_TOKEN_MAX_DAYS}, for an operator-scoped token` }],
    });
  }
}

export class TokenService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly audit: AuditService,
  ) {}

  /** The token in clear is in the answer once and nowhere else: only its hash is kept. */
  async create(principal: Principal, input: { name: string; scope: ApiTokenScope; expiresInDays?: number | undefined }, ip: string) {
    assertMayScope(principal, input);
    const { token, prefix } = newApiToken();
    const expiresAt = input.expiresInDays === undefined ? null : new Date(Date.now() + input.expiresInDays * 86_400_000);
    const created = await this.prisma.$transaction(async (tx) => {
      const row = await tx.apiToken.create({
        data: { accountId: principal.accountId, name: input.name, prefix, scope: input.scope, tokenHash: sha256(token), expiresAt },
      });
      await this.audit.record(tx, actorOf(principal, ip), {
        action: 'token.create',
        targetType: 'api_token',
        targetId: row.id,
        detail: { name: row.name, prefix, scope: row.scope, expiresAt },
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
