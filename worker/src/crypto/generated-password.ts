import { randomBytes } from 'node:crypto';

/** 24 random bytes in base64url: 192 bits, and no characters that trip up copy and paste. */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}
