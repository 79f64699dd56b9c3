import type { PrismaClient, SqlReader } from '../../../prisma/client.js';
import { Prisma } from '../../../prisma/generated/client/client.js';
import type { AccountRole, ApiTokenScope } from '../../../prisma/generated/client/enums.js';
import { HttpProblem } from '../http/problem.js';
import { API_TOKEN_PREFIX, sha256 } from './credentials.js';
import type { Principal } from './principal.js';
import { roleThroughToken } from './token-scope.js';

// lastUsedAt / lastSeenAt are for people ("used 3 minutes ago"): a write per minute is plenty.
// updateMany, because the row may be revoked or logged out in between: not an error here.
const TOUCH_INTERVAL_MS = 60_000;
const BEARER = new RegExp(`^Bearer\\s+(${API_TOKEN_PREFIX}[A-Za-z0-9_-]{43})$`);

/**
 * Every authenticated request starts with one of these lookups, so each is one statement with its
 * account joined, through the SqlReader (Prisma sent two: the row, then its account); the rare
 * touch of lastUsedAt / lastSeenAt stays with Prisma.
 */
export interface AuthDatabase {
  prisma: PrismaClient;
  sql: SqlReader;
}

interface AccountOfCredential {
  accountId: string;
  role: AccountRole;
  disabledAt: Date | null;
}

function invalidToken(detail: string): HttpProblem {
  return new HttpProblem(401, 'Invalid API token', detail, {}, { 'www-authenticate': 'Bearer realm="parley", error="invalid_token"' });
}

/** An Authorization header must name a live token: a bad one is refused, never ignored. */
/** `safeMethod`: the request only reads (GET, HEAD, OPTIONS), which an operator_read token may do as an operator. */
export async function authenticateBearer({ prisma, sql }: AuthDatabase, header: string, safeMethod: boolean, now = new Date()): Promise<Principal> {
  const match = BEARER.exec(header.trim());
  if (!match?.[1]) {
    throw invalidToken(`The Authorization header must be "Bearer ${API_TOKEN_PREFIX}..." with a personal API token from POST /api/v1/tokens.`);
  }
  const [token] = await sql.rows<AccountOfCredential & { id: string; scope: ApiTokenScope; expiresAt: Date | null; lastUsedAt: Date | null; revokedAt: Date | null }>(Prisma.sql`
    SELECT t.id, t.account_id AS "accountId", t.scope::text AS scope, t.expires_at AS "expiresAt", t.last_used_at AS "lastUsedAt", t.revoked_at AS "revokedAt",
      a.role::text AS role, a.disabled_at AS "disabledAt"
    FROM api_tokens t JOIN accounts a ON a.id = t.account_id
    WHERE t.token_hash = ${sha256(match[1])}`);
  if (!token || token.revokedAt || (token.expiresAt && token.expiresAt <= now) || token.disabledAt) {
    throw invalidToken('This API token is unknown, expired or revoked. Create a new one with POST /api/v1/tokens.');
  }
  if (!token.lastUsedAt || now.getTime() - token.lastUsedAt.getTime() > TOUCH_INTERVAL_MS) {
    await prisma.apiToken.updateMany({ where: { id: token.id }, data: { lastUsedAt: now } });
  }
  return { accountId: token.accountId, role: roleThroughToken(token.role, token.scope, safeMethod), via: 'token', tokenId: token.id };
}

/** A session cookie that is unknown or expired just means "anonymous": the guard asks to log in. */
export async function authenticateSession(
  { prisma, sql }: AuthDatabase,
  cookie: string,
  now = new Date(),
): Promise<{ principal: Principal; csrfSecretHash: string } | null> {
  const [session] = await sql.rows<AccountOfCredential & { id: string; expiresAt: Date; lastSeenAt: Date | null; csrfSecretHash: string }>(Prisma.sql`
    SELECT s.id, s.account_id AS "accountId", s.expires_at AS "expiresAt", s.last_seen_at AS "lastSeenAt", s.csrf_secret_hash AS "csrfSecretHash",
      a.role::text AS role, a.disabled_at AS "disabledAt"
    FROM sessions s JOIN accounts a ON a.id = s.account_id
    WHERE s.token_hash = ${sha256(cookie)}`);
  if (!session || session.expiresAt <= now || session.disabledAt) return null;
  if (!session.lastSeenAt || now.getTime() - session.lastSeenAt.getTime() > TOUCH_INTERVAL_MS) {
    await prisma.session.updateMany({ where: { id: session.id }, data: { lastSeenAt: now } });
  }
  return {
    principal: { accountId: session.accountId, role: session.role, via: 'session', session: { id: session.id, expiresAt: session.expiresAt } },
    csrfSecretHash: session.csrfSecretHash,
  };
}
