import type { PrismaClient } from '../../../prisma/client.js';
import type { AcmeOrderLimits } from '../contracts/acme-order-limits.js';

export interface AcmeOrderClaim {
  acmeAccountId: string;
  /** The server and its customer; both null for the platform's own names (a node's TURN host). */
  serverId: string | null;
  accountId: string | null;
  names: string[];
}

/** No new ACME order now: `retryAt` is when the oldest order that counts leaves the window. */
export class AcmeBudgetExhaustedError extends Error {
  constructor(
    readonly scope: 'platform' | 'customer',
    readonly limit: number,
    readonly retryAt: Date,
  ) {
    super(`the ${scope === 'platform' ? "platform's" : "customer's"} budget of ${limit} ACME orders per window is spent; next order possible at ${retryAt.toISOString()}`);
    this.name = 'AcmeBudgetExhaustedError';
  }
}

type Transaction = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

/**
 * Records one new ACME order if both limits allow it, else throws AcmeBudgetExhaustedError and
 * records nothing. The count and the insert run under one transaction-scoped advisory lock, so
 * workers claiming at the same time are serialized and cannot both take the last slot.
 */
export async function claimAcmeOrder(prisma: PrismaClient, limits: AcmeOrderLimits, claim: AcmeOrderClaim, now = new Date()): Promise<void> {
  const since = new Date(now.getTime() - limits.windowMs);
  await prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended('parley.acme_orders', 0))`;
    await refuseWhenSpent(tx, 'platform', { acmeAccountId: claim.acmeAccountId, createdAt: { gt: since } }, limits.perAcmeAccount, limits.windowMs);
    if (claim.accountId !== null) await refuseWhenSpent(tx, 'customer', { accountId: claim.accountId, createdAt: { gt: since } }, limits.perCustomer, limits.windowMs);
    await tx.acmeOrder.create({ data: { ...claim, createdAt: now } });
  });
}

async function refuseWhenSpent(
  tx: Transaction,
  scope: AcmeBudgetExhaustedError['scope'],
  where: { acmeAccountId?: string; accountId?: string; createdAt: { gt: Date } },
  limit: number,
  windowMs: number,
): Promise<void> {
  // The newest `limit` orders in the window: when the oldest of them leaves it, a slot is free.
  const newest = await tx.acmeOrder.findMany({ where, orderBy: { createdAt: 'desc' }, take: limit, select: { createdAt: true } });
  const oldest = newest[limit - 1];
  if (oldest) throw new AcmeBudgetExhaustedError(scope, limit, new Date(oldest.createdAt.getTime() + windowMs));
}
