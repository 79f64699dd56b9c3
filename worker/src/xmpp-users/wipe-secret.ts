import type { PrismaClient } from '../../../prisma/client.js';

const WIPED = { ciphertext: new Uint8Array(0), iv: new Uint8Array(0), authTag: new Uint8Array(0) };

/** Empties a secret's ciphertext for good; the row stays for the audit trail. Idempotent. */
export async function wipeSecret(db: Pick<PrismaClient, 'encryptedSecret'>, secretId: string): Promise<void> {
  await db.encryptedSecret.updateMany({ where: { id: secretId, destroyedAt: null }, data: { ...WIPED, destroyedAt: new Date() } });
}
