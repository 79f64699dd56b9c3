import { z } from 'zod';
import { expected } from '../http/schemas.js';

/** A code from the authenticator app (6 digits) or a recovery code (XXXX-XXXX-XXXX). */
export const secondFactorCodeSchema = z
  .string({ error: expected('must be a string') })
  .trim()
  .regex(/^(\d{6}|[A-Za-z2-7][A-Za-z2-7 -]{10,16}[A-Za-z2-7])$/, 'must be the 6-digit code of your authenticator app or a recovery code');

export const totpCodeSchema = z
  .string({ error: expected('must be a string') })
  .trim()
  .regex(/^\d{6}$/, 'must be the 6-digit code your authenticator app shows');
