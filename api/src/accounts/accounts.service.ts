import type { PrismaClient } from '../../../prisma/client.js';
import { actorOf, accountActor, type AuditService } from '../audit/audit.service.js';
import type { AttemptLimiter } from '../auth/attempt-limiter.js';
import { hashPassword } from '../auth/passwords.js';
import type { Principal } from '../auth/principal.js';
import type { ApiConfig } from '../config.js';
import { HttpProblem } from '../http/problem.js';
import { type ClientInfo, type IssuedSession, type SessionService } from '../sessions/sessions.service.js';
import { toAccountDto, type AccountDto } from './accounts.schemas.js';
import { assertCurrentPassword } from './current-password.js';
import { replacePassword } from './password-replacement.js';
import type { EmailVerificationService } from '../email-verification/email-verification.service.js';
import { isUniqueViolation } from '../../../prisma/errors.js';

export const DEFAULT_PLAN = 'personal';

export class AccountService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly audit: AuditService,
    private readonly sessions: SessionService,
    private readonly limiter: AttemptLimiter,
    private readonly verification: EmailVerificationService,
    private readonly config: ApiConfig,
  ) {}

  /**
   * Creates the account and logs it in: one transaction, so a failure leaves no half account. The
   * verification mail goes out once it committed.
   */
  async signUp(input: { email: string; password: string; plan?: string | undefined }, client: ClientInfo): Promise<IssuedSession> {
    await this.limiter.hit([
      { scope: 'signup-ip', subject: client.ip, limit: this.config.rateLimits.signupsPerIp, description: 'sign-ups from your address' },
      { scope: 'signup-email', subject: input.email, limit: this.config.rateLimits.signupsPerEmail, description: 'sign-ups for this email' },
    ]);
    const planCode = input.plan ?? DEFAULT_PLAN;
    const plan = await this.prisma.plan.findFirst({ where: { code: planCode, active: true } });
    if (!plan) {
      const offered = (await this.prisma.plan.findMany({ where: { active: true }, orderBy: { code: 'asc' } })).map((p) => p.code);
      const message = `must be one of ${offered.map((code) => `"${code}"`).join(', ')} (or left out for "${DEFAULT_PLAN}")`;
      throw new HttpProblem(400, 'Invalid request', `The request has a problem: plan ${message}.`, {
        errors: [{ in: 'body', field: 'plan', message }],
      });
    }
    const passwordHash = await hashPassword(input.password);
    try {
      const { issued, verificationToken } = await this.prisma.$transaction(async (tx) => {
        const account = await tx.account.create({ data: { email: input.email, passwordHash, planId: plan.id }, include: { plan: true } });
        await this.audit.record(tx, accountActor(account, client.ip), {
          action: 'account.create',
          targetType: 'account',
          targetId: account.id,
          detail: { email: account.email, plan: plan.code },
        });
        return { verificationToken: await this.verification.issue(tx, account.id), issued: await this.sessions.start(tx, account, client) };
      });
      this.verification.send(input.email, verificationToken);
      return issued;
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new HttpProblem(
          409,
          'Account exists',
          'An account with this email already exists. Log in instead (POST /api/v1/sessions).',
        );
      }
      throw error;
    }
  }

  async get(principal: Principal): Promise<AccountDto> {
    const account = await this.prisma.account.findUniqueOrThrow({ where: { id: principal.accountId }, include: { plan: true } });
    return toAccountDto(account);
  }

  /** Ends every other session and revokes the API tokens but the one making the request (replacePassword). */
  async changePassword(principal: Principal, input: { currentPassword: string; newPassword: string }, ip: string): Promise<void> {
    const account = await this.prisma.account.findUniqueOrThrow({ where: { id: principal.accountId } });
    await assertCurrentPassword(this.limiter, this.config, account, input.currentPassword, 'currentPassword');
    const passwordHash = await hashPassword(input.newPassword);
    await this.prisma.$transaction(async (tx) => {
      const replaced = await replacePassword(tx, account.id, passwordHash, { sessionId: principal.session?.id, tokenId: principal.tokenId });
      await this.audit.record(tx, actorOf(principal, ip), {
        action: 'account.password_change',
        targetType: 'account',
        targetId: account.id,
        detail: { ...replaced },
      });
    });
  }
}
