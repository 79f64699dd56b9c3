import type { PrismaClient } from '../../../prisma/client.js';

/** Empties the ciphertext of these secrets for good; the rows stay for the audit trail. */
export async function wipeSecrets(db: Pick<PrismaClient, 'encryptedSecret'>, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.encryptedSecret.updateMany({
    where: { id: { in: ids }, destroyedAt: null },
    data: { ciphertext: new Uint8Array(0), iv: new Uint8Array(0), authTag: new Uint8Array(0), destroyedAt: new Date() },
  });
}
