import type { PrismaClient } from '../../../prisma/client.js';
import { accountActor, type AuditService } from '../audit/audit.service.js';
import { replacePassword } from '../accounts/password-replacement.js';
import { issueAccountToken, linkNotValid, spendAccountToken } from '../auth/account-tokens.js';
import type { AttemptLimiter } from '../auth/attempt-limiter.js';
import { hashPassword } from '../auth/passwords.js';
import type { ApiConfig } from '../config.js';
import { passwordResetMail } from '../mail/account-mail.js';
import type { MailOutbox } from '../mail/mail-outbox.js';

/** Password reset by a mailed one-time link; the answer never tells whether the email has an account. */
export class PasswordResetService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly audit: AuditService,
    private readonly limiter: AttemptLimiter,
    private readonly mail: MailOutbox,
    private readonly config: ApiConfig,
  ) {}

  /**
   * Counted per address and per email whether or not the account exists (the same 429 either
   * way). The mail goes out after the answer, so known and unknown emails take as long.
   */
  async request(email: string, ip: string): Promise<void> {
    await this.limiter.hit([
      { scope: 'reset-ip', subject: ip, limit: this.config.rateLimits.passwordResetsPerIp, description: 'password reset requests from your address' },
      { scope: 'reset-email', subject: email, limit: this.config.rateLimits.passwordResetsPerEmail, description: 'password reset requests for this email' },
    ]);
    const account = await this.prisma.account.findUnique({ where: { email } });
    if (!account || account.disabledAt) return;
    const ttl = this.config.accountTokenTtls.passwordResetMinutes;
    const { token } = await this.prisma.$transaction(async (tx) => {
      const issued = await issueAccountToken(tx, account.id, 'password_reset', ttl);
      await this.audit.record(tx, accountActor(account, ip), { action: 'account.password_reset_request', targetType: 'account', targetId: account.id });
      return issued;
    });
    this.mail.post(passwordResetMail(this.config.mail, account.email, token, ttl), 'password_reset');
  }

  /**
   * Sets the new password with the token, which is spent (with every other reset link of the
   * account); every session and API token ends. Following the link proves the email, too.
   */
  async confirm(input: { token: string; newPassword: string }, ip: string): Promise<void> {
    const passwordHash = await hashPassword(input.newPassword);
    await this.prisma.$transaction(async (tx) => {
      const accountId = await spendAccountToken(tx, 'password_reset', input.token);
      if (!accountId) throw linkNotValid('password reset', 'Ask for a new one (POST /api/v1/password-reset) and use the newest mail.');
      const replaced = await replacePassword(tx, accountId, passwordHash);
      const account = await tx.account.update({ where: { id: accountId }, data: { emailVerifiedAt: new Date() } });
      await this.audit.record(tx, accountActor(account, ip), {
        action: 'account.password_reset',
        targetType: 'account',
        targetId: accountId,
        detail: { ...replaced },
      });
    });
  }
}
