import type { Prisma } from '../../../prisma/generated/client/client.js';

/** What a password replacement ended, for the audit row. */
export interface PasswordReplaced {
  otherSessionsEnded: number;
  tokensRevoked: number;
}

/**
 * Sets the password and ends what the old one opened: every session and API token of the account
 * but the ones kept (the request changing it), any reset link still out, any log-in waiting for
 * its second factor. Whoever held one, perhaps the reason for the change, must log in again.
 */
export async function replacePassword(
  tx: Prisma.TransactionClient,
  accountId: string,
  passwordHash: string,
  keep: { sessionId?: string | undefined; tokenId?: string | undefined } = {},
): Promise<PasswordReplaced> {
  await tx.account.update({ where: { id: accountId }, data: { passwordHash } });
  const ended = await tx.session.deleteMany({ where: { accountId, ...(keep.sessionId ? { id: { not: keep.sessionId } } : {}) } });
  const revoked = await tx.apiToken.updateMany({
    where: { accountId, revokedAt: null, ...(keep.tokenId ? { id: { not: keep.tokenId } } : {}) },
    data: { revokedAt: new Date() },
  });
  await tx.accountToken.updateMany({
    where: { accountId, purpose: { in: ['password_reset', 'login_challenge'] }, usedAt: null },
    data: { usedAt: new Date() },
  });
  return { otherSessionsEnded: ended.count, tokensRevoked: revoked.count };
}
