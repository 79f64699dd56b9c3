import type { SecretKeyring, SecretPurpose } from '../../../prisma/generated/client/enums.js';
import { SecretBox, type SealedSecret } from './secret-box.js';

/**
 * The keyring of each purpose: customers' credentials, which the API shows or sets, under the one
 * both processes hold; the platform's own keys under the one only the worker holds, so an API
 * process that leaks its environment or memory cannot read them. A new purpose must choose.
 */
const KEYRING_OF: Record<SecretPurpose, SecretKeyring> = {
  admin_password: 'credentials',
  xmpp_user_password: 'credentials',
  invite_uri: 'credentials',
  totp_secret: 'credentials',
  acme_account_key: 'platform',
  certificate_key: 'platform',
  // Only the worker (and the node's coturn, through its own database) needs it.
  turn_secret: 'platform',
};

/** A secret as stored: which keyring sealed it (not always its purpose's, until rotation re-seals it). */
export type StoredSecret = SealedSecret & { keyring: SecretKeyring };

/** The keyrings as given in the environment (SECRETS_KEYRING, PLATFORM_KEYRING); the API has no platform one. */
export interface KeyringSettings {
  credentials: string;
  platform?: string;
}

/** Seals each secret under its purpose's keyring and opens it under the keyring that sealed it. */
export class SecretSealer {
  private constructor(private readonly rings: Partial<Record<SecretKeyring, SecretBox>>) {}

  static fromKeyrings(settings: KeyringSettings): SecretSealer {
    return new SecretSealer({
      credentials: SecretBox.fromKeyring(settings.credentials),
      ...(settings.platform ? { platform: SecretBox.fromKeyring(settings.platform) } : {}),
    });
  }

  /** The EncryptedSecret row for a new secret (Prisma's Bytes columns want plain Uint8Arrays). */
  seal(purpose: SecretPurpose, plaintext: string, associatedData: string) {
    const keyring = KEYRING_OF[purpose];
    const sealed = this.ring(keyring).seal(plaintext, associatedData);
    return {
      purpose,
      keyring,
      keyVersion: sealed.keyVersion,
      iv: Uint8Array.from(sealed.iv),
      ciphertext: Uint8Array.from(sealed.ciphertext),
      authTag: Uint8Array.from(sealed.authTag),
    };
  }

  open(stored: StoredSecret, associatedData: string): string {
    return this.ring(stored.keyring).open(stored, associatedData);
  }

  /**
   * Customers' data held for a while (an export, an uploaded import), under the credentials
   * keyring: the worker seals what the API opens, and the other way round.
   */
  sealData(plaintext: Uint8Array, associatedData: string): SealedSecret {
    return this.ring('credentials').sealBytes(plaintext, associatedData);
  }

  openData(sealed: SealedSecret, associatedData: string): Buffer {
    return this.ring('credentials').openBytes(sealed, associatedData);
  }

  /** The keyring and key version a new secret of this purpose is sealed with. */
  current(purpose: SecretPurpose): { keyring: SecretKeyring; keyVersion: number } {
    const keyring = KEYRING_OF[purpose];
    return { keyring, keyVersion: this.ring(keyring).currentVersion };
  }

  private ring(name: SecretKeyring): SecretBox {
    const box = this.rings[name];
    if (!box) throw new Error(`this process does not hold the ${name} keyring`);
    return box;
  }
}
