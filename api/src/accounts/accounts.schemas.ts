import { z } from 'zod';
import { expected } from '../http/schemas.js';
import type { Account, Plan } from '../../../prisma/generated/client/client.js';

/** Trimmed and lower-cased before anything else sees it, so "Ada@X.org " and "ada@x.org" are one account. */
export const emailSchema = z
  .string({ error: expected('must be a string') })
  .trim()
  .toLowerCase()
  .max(254, 'must be at most 254 characters')
  .check(z.email({ error: expected('must be an email address, such as ada@example.com') }));

export const accountSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  role: z.enum(['customer', 'operator']),
  plan: z.object({
    code: z.string(),
    name: z.string(),
    maxServers: z.number().int(),
    maxUsersPerServer: z.number().int(),
    storageMiB: z.number().int().describe('Upload storage per server; the server refuses uploads beyond it.'),
  }),
  emailVerified: z.boolean().describe('Whether the owner followed a link mailed to this email (POST /api/v1/me/email/verify).'),
  twoFactorEnabled: z.boolean().describe('Whether log-in asks for a code of an authenticator app.'),
  createdAt: z.iso.datetime(),
});
export type AccountDto = z.infer<typeof accountSchema>;

/** What sign-up, log-in and GET /me answer. */
export const authenticatedSchema = z.object({
  account: accountSchema,
  csrfToken: z
    .string()
    .nullable()
    .describe('Send as the X-CSRF-Token header on writes authenticated by the session cookie; null when authenticated by an API token.'),
  sessionExpiresAt: z.iso.datetime().nullable().describe('When the session ends (a fixed lifetime from log-in); null for API tokens.'),
});
export type AuthenticatedDto = z.infer<typeof authenticatedSchema>;

export function toAccountDto(account: Account & { plan: Plan }): AccountDto {
  const { plan } = account;
  return {
    id: account.id,
    email: account.email,
    role: account.role,
    plan: { code: plan.code, name: plan.name, maxServers: plan.maxServers, maxUsersPerServer: plan.maxUsersPerServer, storageMiB: plan.storageMiB },
    emailVerified: account.emailVerifiedAt !== null,
    twoFactorEnabled: account.totpEnabledAt !== null,
    createdAt: account.createdAt.toISOString(),
  };
}
