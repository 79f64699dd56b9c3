import { hash, verify } from '@node-rs/argon2';
import { z } from 'zod';
import { expected } from '../http/schemas.js';

export const PASSWORD_MIN_LENGTH = 12;
// argon2 hashes whatever it is given; the cap keeps one request from costing seconds of CPU.
export const PASSWORD_MAX_LENGTH = 256;

// Long passwords that still top breach lists; a longer list belongs in a breach-check service.
const DENIED = new Set([
  '123456789012',
  '1234567890123',
  '12345678901234',
  '123456789123',
  '111111111111',
  '000000000000',
  'password1234',
  'password12345',
  'password123456',
  'passwordpassword',
  'qwertyuiopasdfgh',
  'qwertyuiop12',
  'qwertyuiop123',
  'qwerty123456',
  '1q2w3e4r5t6y',
  'iloveyou1234',
  'letmein12345',
  'welcome12345',
  'administrator',
  'changeme1234',
  'trustno1trustno1',
  'abcdefghijkl',
  'abc123abc123',
  'parleyparley',
  'correcthorsebatterystaple',
]);

/** The sign-up and change-password rule: long enough, and not a known or trivially repeated one. */
export const passwordSchema = z
  .string({ error: expected('must be a string') })
  .min(PASSWORD_MIN_LENGTH, `must be at least ${PASSWORD_MIN_LENGTH} characters: a few unrelated words make a strong one`)
  .max(PASSWORD_MAX_LENGTH, `must be at most ${PASSWORD_MAX_LENGTH} characters`)
  .refine((password) => !DENIED.has(password.toLowerCase()), 'is one of the most common passwords: choose another')
  .refine((password) => new Set(password).size > 3, 'repeats too few different characters: choose another');

/**
 * A password typed to prove who you are (log-in, confirming a change): not the sign-up rule, so
 * passwords set before a rule change still work.
 */
export const enteredPasswordSchema = z
  .string({ error: expected('must be a string') })
  .min(1, 'is required')
  .max(PASSWORD_MAX_LENGTH, `must be at most ${PASSWORD_MAX_LENGTH} characters`);

/** argon2id (the library's default) with its default cost: 19 MiB, 2 passes, as OWASP recommends. */
export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

// Verified when the email is unknown, so a wrong email takes as long as a wrong password.
const DECOY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$A3EuOrQIp9KV4yXY/8XA1A$TC3BEY73wNDJXqQ7UAomEDVJWXAOlQv3YzqqDHH4Pxg';

export async function verifyPassword(storedHash: string | null, password: string): Promise<boolean> {
  try {
    return (await verify(storedHash ?? DECOY_HASH, password)) && storedHash !== null;
  } catch {
    return false;
  }
}
