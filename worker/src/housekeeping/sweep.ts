import type { PrismaClient } from '../../../prisma/client.js';

/** How often the sweep runs: expired rows only take space, they grant nothing. */
export const SWEEP_INTERVAL_MS = 3_600_000;

/**
 * Deletes what can no longer be used: sessions past their expiry (a session is refused once
 * expired, so the row is only a hash of a dead secret and where it was used from).
 */
export async function sweepExpired(prisma: PrismaClient, now: Date): Promise<string> {
  const sessions = await prisma.session.deleteMany({ where: { expiresAt: { lt: now } } });
  return `Deleted ${sessions.count} expired session${sessions.count === 1 ? '' : 's'}`;
}
