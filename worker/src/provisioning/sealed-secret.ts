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
