import { z } from 'zod';
import { expected } from '../http/schemas.js';

/** A one-time account token (account-tokens.ts) as a client sends it back: 256 bits, base64url. */
export const accountTokenSchema = (what: string) =>
  z
    .string({ error: expected('must be a string') })
    .trim()
    .regex(/^[A-Za-z0-9_-]{43}$/, `must be the ${what} (43 letters, digits, - or _)`);
