import { z } from 'zod';
import type { Prisma } from '../../../prisma/generated/client/client.js';
import type { Principal } from '../auth/principal.js';
import { HttpProblem, notFound } from '../http/problem.js';
import { DOMAINS_LIST_HINT, storedChecks } from './domains.service.js';

/**
 * The custom domain a server is ordered on: the caller's own (404 otherwise, as for any other
 * resource, operators included) and verified (409 naming what is missing otherwise). Call it inside the order's
 * transaction: the row is locked FOR SHARE, so a concurrent DELETE of the domain waits for the
 * order and then sees its server, and an order waiting on a DELETE then finds no domain.
 */
export async function requireVerifiedDomain(tx: Prisma.TransactionClient, principal: Principal, domainId: string): Promise<{ id: string; name: string }> {
  if (!z.uuid().safeParse(domainId).success) throw notFound('domain', domainId, DOMAINS_LIST_HINT);
  await tx.$queryRaw`SELECT id FROM domains WHERE id = ${domainId}::uuid FOR SHARE`;
  // Always the caller's own: an operator orders for their own account, never on a customer's domain.
  const domain = await tx.domain.findFirst({ where: { id: domainId, deletedAt: null, accountId: principal.accountId } });
  if (!domain) throw notFound('domain', domainId, DOMAINS_LIST_HINT);
  if (domain.status === 'verified') return { id: domain.id, name: domain.name };

  const verify = `POST /api/v1/domains/${domain.id}/verify`;
  const failing = storedChecks(domain.checks).filter((check) => check.required && !check.ok);
  const detail =
    domain.lastCheckedAt === null || failing.length === 0
      ? `${domain.name} is not verified yet: create the required records shown by GET /api/v1/domains/${domain.id}, then ${verify}.`
      : `${domain.name} is not verified: ${failing.map((check) => `${check.type} ${check.name}: ${check.message}`).join(' ')} Then ${verify}.`;
  throw new HttpProblem(409, 'Domain not verified', detail, { missing: failing.map((check) => ({ name: check.name, type: check.type, expected: check.expected })) });
}
