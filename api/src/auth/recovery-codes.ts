import { randomBytes } from 'node:crypto';
import { base32Encode } from './totp.js';

/** How many recovery codes an enrolment hands out. */
export const RECOVERY_CODE_COUNT = 10;

/** 60 random bits as XXXX-XXXX-XXXX (base32: no 0/1/8/9 to confuse with letters). */
export function newRecoveryCode(): string {
  const text = base32Encode(randomBytes(8)).slice(0, 12);
  return `${text.slice(0, 4)}-${text.slice(4, 8)}-${text.slice(8)}`;
}

/** What is hashed and compared: as typed, without case, spaces or dashes. */
export function normalizeRecoveryCode(code: string): string {
  const plain = code.replace(/[\s-]/g, '').toUpperCase();
  return `${plain.slice(0, 4)}-${plain.slice(4, 8)}-${plain.slice(8)}`;
}

export function looksLikeRecoveryCode(code: string): boolean {
  return /^[A-Z2-7]{12}$/.test(code.replace(/[\s-]/g, '').toUpperCase());
}
