import type { Prisma } from '../../../prisma/generated/client/client.js';

/**
 * Locks the account's row until the transaction ends: writes that count what the account holds
 * against a quota (servers, pending domains) then run one at a time, so parallel requests cannot
 * all pass the same count.
 */
export async function lockAccount(tx: Prisma.TransactionClient, accountId: string): Promise<void> {
  await tx.$queryRaw`SELECT id FROM accounts WHERE id = ${accountId}::uuid FOR UPDATE`;
}
