import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Stated, not defaulted: without it a decipher accepts a tag cut to 4 bytes, far easier to forge. */
const AUTH_TAG_LENGTH = 16;

/** A secret as stored at rest: which key sealed it, and the AES-256-GCM output. */
export interface SealedSecret {
  keyVersion: number;
  iv: Uint8Array;
  ciphertext: Uint8Array;
  authTag: Uint8Array;
}

/**
 * Encrypts secrets with a versioned keyring (`1:BASE64,2:BASE64`): the highest version seals,
 * every version opens, so a key can be rotated without a flag day. The associated data binds a
 * ciphertext to its owner (for example `admin_password:<serverId>`), so a row copied onto
 * another server does not decrypt.
 */
export class SecretBox {
  private constructor(
    private readonly keys: Map<number, Buffer>,
    readonly currentVersion: number,
  ) {}

  static fromKeyring(keyring: string): SecretBox {
    const keys = new Map<number, Buffer>();
    for (const entry of keyring.split(',')) {
      const [version, encoded] = entry.trim().split(':');
      const key = Buffer.from(encoded ?? '', 'base64');
      if (!version || !/^\d+$/.test(version) || key.length !== 32) {
        throw new Error('the secrets keyring must be VERSION:BASE64 entries with 32-byte keys');
      }
      keys.set(Number(version), key);
    }
    return new SecretBox(keys, Math.max(...keys.keys()));
  }

  seal(plaintext: string, associatedData: string): SealedSecret {
    return this.sealBytes(Buffer.from(plaintext, 'utf8'), associatedData);
  }

  open(sealed: SealedSecret, associatedData: string): string {
    return this.openBytes(sealed, associatedData).toString('utf8');
  }

  sealBytes(plaintext: Uint8Array, associatedData: string): SealedSecret {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key(this.currentVersion), iv, { authTagLength: AUTH_TAG_LENGTH });
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { keyVersion: this.currentVersion, iv, ciphertext, authTag: cipher.getAuthTag() };
  }

  openBytes(sealed: SealedSecret, associatedData: string): Buffer {
    const decipher = createDecipheriv('aes-256-gcm', this.key(sealed.keyVersion), sealed.iv, { authTagLength: AUTH_TAG_LENGTH });
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(sealed.authTag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  }

  /** True when the secret was sealed with an older key and should be re-sealed. */
  isStale(sealed: SealedSecret): boolean {
    return sealed.keyVersion !== this.currentVersion;
  }

  private key(version: number): Buffer {
    const key = this.keys.get(version);
    if (!key) throw new Error(`secret sealed with key version ${version}, which is not in the keyring`);
    return key;
  }
}
