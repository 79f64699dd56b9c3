import { setTimeout as sleep } from 'node:timers/promises';
import type { PrismaClient } from '../../../prisma/client.js';
import { ORDERING_STATES } from '../contracts/provisioning.js';

export interface OrderYieldLimits {
  /** The longest one server's turn waits; 0: the pass never waits. */
  perServerMs: number;
  /** The longest a whole pass waits in all, so that it still ends within its interval. */
  perPassMs: number;
}

/** How often the orders in flight are looked at while waiting. */
const POLL_MS = 200;
/** An order whose state has not moved for this long is waiting out a retry's backoff, not using the node. */
const ACTIVE_WITHIN_MS = 60_000;

/**
 * Lets a pass over every server (the account census) step aside while an order is being built on
 * the same node: the order's engine calls and CPU-bound steps then do not share dockerd and the
 * cores with a `docker exec` per server, so a customer's order does not wait behind the node's
 * bookkeeping. Bounded per server and per pass: a stream of orders slows the pass, never stops it.
 * The function returned is called before each server and resolves with the milliseconds it waited.
 */
export function orderYield(prisma: PrismaClient, limits: OrderYieldLimits): (nodeId: string | null) => Promise<number> {
  let spentMs = 0;
  return async (nodeId) => {
    const budgetMs = Math.min(limits.perServerMs, limits.perPassMs - spentMs);
    const started = Date.now();
    let waitedMs = 0;
    while (waitedMs < budgetMs && (await orderInFlight(prisma, nodeId))) {
      await sleep(Math.min(POLL_MS, budgetMs - waitedMs));
      waitedMs = Math.min(budgetMs, Date.now() - started);
    }
    spentMs += waitedMs;
    return waitedMs;
  };
}

/** Whether an order on the node, or one not placed yet (it may land there), moved within the last minute. */
export async function orderInFlight(prisma: PrismaClient, nodeId: string | null): Promise<boolean> {
  const order = await prisma.server.findFirst({
    where: {
      state: { in: ORDERING_STATES },
      deletedAt: null,
      stateChangedAt: { gte: new Date(Date.now() - ACTIVE_WITHIN_MS) },
      ...(nodeId === null ? {} : { OR: [{ nodeId }, { nodeId: null }] }),
    },
    select: { id: true },
  });
  return order !== null;
}
