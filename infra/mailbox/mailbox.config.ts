import { z } from 'zod';
import { SANDBOX_SMTP_URL } from '../../api/src/config.js';
import { envFields, parseEnv } from '../../worker/src/contracts/env-fields.js';

const mailboxEnvSchema = z.object({
  // The API sends to SMTP_URL; in the sandbox the mailbox is what listens there (loopback only).
  SMTP_URL: z.union([z.literal(''), envFields.smtpUrl]).optional(),
  PARLEY_STATE_DIR: z.string({ error: 'is required but not set' }).startsWith('/', 'must be an absolute path'),
});

export interface MailboxConfig {
  host: string;
  port: number;
  /** Each message lands here as a .eml file. */
  dir: string;
}

export function loadMailboxConfig(env: Record<string, string | undefined> = process.env): MailboxConfig {
  const e = parseEnv(mailboxEnvSchema, env);
  const url = new URL(e.SMTP_URL || SANDBOX_SMTP_URL);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!['127.0.0.1', '::1', 'localhost'].includes(host)) {
    throw new Error(`SMTP_URL points at ${host}, a real relay: the sandbox mailbox only stands in for a relay on loopback`);
  }
  return { host, port: Number(url.port) || 25, dir: `${e.PARLEY_STATE_DIR.replace(/\/+$/, '')}/mailbox` };
}
