import type { PrismaClient } from '../../../prisma/client.js';
import type { Prisma } from '../../../prisma/generated/client/client.js';
import { accountActor, actorOf, type AuditService } from '../audit/audit.service.js';
import { issueAccountToken, linkNotValid, spendAccountToken } from '../auth/account-tokens.js';
import type { AttemptLimiter } from '../auth/attempt-limiter.js';
import type { Principal } from '../auth/principal.js';
import type { ApiConfig } from '../config.js';
import { HttpProblem } from '../http/problem.js';
import { verificationMail } from '../mail/account-mail.js';
import type { MailOutbox } from '../mail/mail-outbox.js';

/**
 * Proves the account's email reaches its owner: sign-up mails a one-time link, the dashboard page
 * it opens posts the token back. An unverified account works otherwise; the dashboard says so.
 */
export class EmailVerificationService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly audit: AuditService,
    private readonly limiter: AttemptLimiter,
    private readonly mail: MailOutbox,
    private readonly config: ApiConfig,
  ) {}

  /** Issues the link's token in the caller's transaction; send() it once that committed. */
  async issue(tx: Prisma.TransactionClient, accountId: string): Promise<string> {
    return (await issueAccountToken(tx, accountId, 'email_verification', this.config.accountTokenTtls.emailVerificationMinutes)).token;
  }

  send(email: string, token: string): void {
    this.mail.post(verificationMail(this.config.mail, email, token, this.config.accountTokenTtls.emailVerificationMinutes), 'email_verification');
  }

  async resend(principal: Principal, ip: string): Promise<void> {
    await this.limiter.hit([
      {
        scope: 'verification-mail',
        subject: principal.accountId,
        limit: this.config.rateLimits.verificationMailsPerAccount,
        description: 'verification mails for this account',
      },
    ]);
    const account = await this.prisma.account.findUniqueOrThrow({ where: { id: principal.accountId } });
    if (account.emailVerifiedAt) {
      throw new HttpProblem(409, 'Email already verified', `${account.email} is verified already; there is nothing to confirm.`);
    }
    const token = await this.prisma.$transaction(async (tx) => {
      const issued = await this.issue(tx, account.id);
      await this.audit.record(tx, actorOf(principal, ip), { action: 'account.verification_mail', targetType: 'account', targetId: account.id });
      return issued;
    });
    this.send(account.email, token);
  }

  /** Spends the token and marks the email verified; works logged in or not (the token names the account). */
  async verify(token: string, ip: string): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const accountId = await spendAccountToken(tx, 'email_verification', token);
      if (!accountId) throw linkNotValid('verification', 'Log in and ask for a new one (POST /api/v1/me/email/verification-mail).');
      const account = await tx.account.update({ where: { id: accountId }, data: { emailVerifiedAt: new Date() } });
      await this.audit.record(tx, accountActor(account, ip), {
        action: 'account.email_verify',
        targetType: 'account',
        targetId: account.id,
        detail: { email: account.email },
      });
    });
  }
}
