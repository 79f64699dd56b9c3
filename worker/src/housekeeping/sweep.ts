import type { PrismaClient } from '../../../prisma/client.js';

/** How often the sweep runs: expired rows only take space, they grant nothing. */
export const SWEEP_INTERVAL_MS = 3_600_000;

/** The rows a sweep deleted, by kind. */
export interface SweepReport {
  sessions: number;
  accountTokens: number;
  recoveryCodes: number;
}

/**
 * Deletes what can no longer be used: sessions past their expiry, account tokens (mailed links,
 * half-done two-factor log-ins) spent or expired, recovery codes spent. Each is refused once in
 * that state, so the row is only a hash of a dead secret and whom it was for.
 */
export async function sweepExpired(prisma: PrismaClient, now: Date): Promise<SweepReport> {
  const sessions = await prisma.session.deleteMany({ where: { expiresAt: { lt: now } } });
  const tokens = await prisma.accountToken.deleteMany({ where: { OR: [{ usedAt: { not: null } }, { expiresAt: { lt: now } }] } });
  const codes = await prisma.recoveryCode.deleteMany({ where: { usedAt: { not: null } } });
  return { sessions: sessions.count, accountTokens: tokens.count, recoveryCodes: codes.count };
}
