import type { PrismaClient } from '../../../prisma/client.js';
import type { SecretPurpose } from '../../../prisma/generated/client/enums.js';
import type { SealedSecret } from '../crypto/secret-box.js';

/** The EncryptedSecret row for a sealed value (Prisma's Bytes columns want plain Uint8Arrays). */
export function secretRow(purpose: SecretPurpose, sealed: SealedSecret) {
  return {
    purpose,
    keyVersion: sealed.keyVersion,
    iv: Uint8Array.from(sealed.iv),
    ciphertext: Uint8Array.from(sealed.ciphertext),
    authTag: Uint8Array.from(sealed.authTag),
  };
}

/** Empties the ciphertext of these secrets for good; the rows stay for the audit trail. */
export async function wipeSecrets(db: Pick<PrismaClient, 'encryptedSecret'>, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.encryptedSecret.updateMany({
    where: { id: { in: ids }, destroyedAt: null },
    data: { ciphertext: new Uint8Array(0), iv: new Uint8Array(0), authTag: new Uint8Array(0), destroyedAt: new Date() },
  });
}
