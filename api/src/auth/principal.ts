import type { FastifyRequest } from 'fastify';
import type { AccountRole } from '../../../prisma/generated/client/enums.js';
import { HttpProblem } from '../http/problem.js';

/** Who is calling, set by the auth plugin on every /api/v1 request (null when anonymous). */
export interface Principal {
  accountId: string;
  role: AccountRole;
  via: 'session' | 'token';
  /** The API token used, when via = 'token'. */
  tokenId?: string;
  /** The session used, when via = 'session'. */
  session?: { id: string; expiresAt: Date };
}

/**
 * The where-clause that limits a query to what the principal may see: its own rows, or every row
 * for an operator. Use it in every lookup of a customer-owned model, including by id, so another
 * account's resource is simply not found (404, never 403: no hint that it exists):
 *
 *   prisma.server.findFirst({ where: { id, deletedAt: null, ...ownedBy(principal) } })
 *   prisma.xmppUser.findFirst({ where: { id, server: ownedBy(principal) } })   // owned through a parent
 */
export function ownedBy(principal: Principal): { accountId?: string } {
  return principal.role === 'operator' ? {} : { accountId: principal.accountId };
}

/**
 * A customer's secrets are shown to the customer only: an operator reaches the resource (ownedBy)
 * but revealing would spend the owner's one-time reveal and put the secret in other hands.
 */
export function assertOwnerReveals(principal: Principal, ownerAccountId: string, what: string): void {
  if (principal.accountId === ownerAccountId) return;
  throw new HttpProblem(403, 'Only the owner can reveal it', `${what} is shown once, and only to the account that owns it; operators never see customers' secrets.`);
}

/** The caller of a route guarded by requireAuth/requireOperator. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw notAuthenticated();
  return request.principal;
}

export function notAuthenticated(): HttpProblem {
  return new HttpProblem(
    401,
    'Not authenticated',
    'Log in first (POST /api/v1/sessions), or send a personal API token as "Authorization: Bearer prl_...".',
    {},
    { 'www-authenticate': 'Bearer realm="parley"' },
  );
}
