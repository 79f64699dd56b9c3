import type { PrismaClient } from '../../../prisma/client.js';
import { HttpProblem } from '../http/problem.js';
import { API_TOKEN_PREFIX, sha256 } from './credentials.js';
import type { Principal } from './principal.js';

// lastUsedAt / lastSeenAt are for people ("used 3 minutes ago"): a write per minute is plenty.
// updateMany, because the row may be revoked or logged out in between: not an error here.
const TOUCH_INTERVAL_MS = 60_000;
const BEARER = new RegExp(`^Bearer\\s+(${API_TOKEN_PREFIX}[A-Za-z0-9_-]{43})$`);

function invalidToken(detail: string): HttpProblem {
  return new HttpProblem(401, 'Invalid API token', detail, {}, { 'www-authenticate': 'Bearer realm="parley", error="invalid_token"' });
}

/** An Authorization header must name a live token: a bad one is refused, never ignored. */
export async function authenticateBearer(prisma: PrismaClient, header: string, now = new Date()): Promise<Principal> {
  const match = BEARER.exec(header.trim());
  if (!match?.[1]) {
    throw invalidToken(`The Authorization header must be "Bearer ${API_TOKEN_PREFIX}..." with a personal API token from POST /api/v1/tokens.`);
  }
  const token = await prisma.apiToken.findUnique({
    where: { tokenHash: sha256(match[1]) },
    include: { account: { select: { role: true, disabledAt: true } } },
  });
  if (!token || token.revokedAt || (token.expiresAt && token.expiresAt <= now) || token.account.disabledAt) {
    throw invalidToken('This API token is unknown, expired or revoked. Create a new one with POST /api/v1/tokens.');
  }
  if (!token.lastUsedAt || now.getTime() - token.lastUsedAt.getTime() > TOUCH_INTERVAL_MS) {
    await prisma.apiToken.updateMany({ where: { id: token.id }, data: { lastUsedAt: now } });
  }
  return { accountId: token.accountId, role: token.account.role, via: 'token', tokenId: token.id };
}

/** A session cookie that is unknown or expired just means "anonymous": the guard asks to log in. */
export async function authenticateSession(
  prisma: PrismaClient,
  cookie: string,
  now = new Date(),
): Promise<{ principal: Principal; csrfSecretHash: string } | null> {
  const session = await prisma.session.findUnique({
    where: { tokenHash: sha256(cookie) },
    include: { account: { select: { role: true, disabledAt: true } } },
  });
  if (!session || session.expiresAt <= now || session.account.disabledAt) return null;
  if (!session.lastSeenAt || now.getTime() - session.lastSeenAt.getTime() > TOUCH_INTERVAL_MS) {
    await prisma.session.updateMany({ where: { id: session.id }, data: { lastSeenAt: now } });
  }
  return {
    principal: { accountId: session.accountId, role: session.account.role, via: 'session', session: { id: session.id, expiresAt: session.expiresAt } },
    csrfSecretHash: session.csrfSecretHash,
  };
}
