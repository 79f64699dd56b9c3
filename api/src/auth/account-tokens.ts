import type { Prisma } from '../../../prisma/generated/client/client.js';
import type { AccountTokenPurpose } from '../../../prisma/generated/client/enums.js';
import { HttpProblem } from '../http/problem.js';
import { randomSecret, sha256 } from './credentials.js';

/**
 * A one-time token for mail links and half-done log-ins: 256 random bits, stored as SHA-256 only,
 * so the database never holds a usable one. Returned once, here.
 */
export async function issueAccountToken(
  tx: Prisma.TransactionClient,
  accountId: string,
  purpose: AccountTokenPurpose,
  ttlMinutes: number,
): Promise<{ token: string; expiresAt: Date }> {
  const token = randomSecret();
  const expiresAt = new Date(Date.now() + ttlMinutes * 60_000);
  await tx.accountToken.create({ data: { accountId, purpose, tokenHash: sha256(token), expiresAt } });
  return { token, expiresAt };
}

/** The unspent, unexpired token of this purpose, or null. Does not spend it. */
export async function findLiveAccountToken(db: Prisma.TransactionClient, purpose: AccountTokenPurpose, token: string) {
  return db.accountToken.findFirst({ where: { tokenHash: sha256(token), purpose, usedAt: null, expiresAt: { gt: new Date() } } });
}

/**
 * Spends the token: one conditional update, so of two requests racing with the same token only
 * one wins. The account's other live tokens of the purpose go with it (one reset ends every
 * reset link). Returns the account, or null when it was unknown, spent or expired.
 */
export async function spendAccountToken(tx: Prisma.TransactionClient, purpose: AccountTokenPurpose, token: string): Promise<string | null> {
  const live = await findLiveAccountToken(tx, purpose, token);
  if (!live) return null;
  const now = new Date();
  const spent = await tx.accountToken.updateMany({ where: { id: live.id, usedAt: null }, data: { usedAt: now } });
  if (spent.count !== 1) return null;
  await tx.accountToken.updateMany({ where: { accountId: live.accountId, purpose, usedAt: null }, data: { usedAt: now } });
  return live.accountId;
}

/** A mailed link whose token was unknown, spent or expired; `whatToDo` says how to get a new one. */
export function linkNotValid(link: string, whatToDo: string): HttpProblem {
  return new HttpProblem(400, 'Link not valid', `This ${link} link is unknown, used already or expired. ${whatToDo}`, {
    errors: [{ in: 'body', field: 'token', message: 'is unknown, used or expired' }],
  });
}
