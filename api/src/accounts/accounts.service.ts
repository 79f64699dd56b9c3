import type { PrismaClient } from '../../../prisma/client.js';
import { actorOf, accountActor, type AuditService } from '../audit/audit.service.js';
import type { AttemptLimiter } from '../auth/attempt-limiter.js';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import type { Principal } from '../auth/principal.js';
import type { ApiConfig } from '../config.js';
import { HttpProblem } from '../http/problem.js';
import { passwordCheckSubjects, type ClientInfo, type IssuedSession, type SessionService } from '../sessions/sessions.service.js';
import { toAccountDto, type AccountDto } from './accounts.schemas.js';
import { isUniqueViolation } from '../../../prisma/errors.js';

export const DEFAULT_PLAN = 'personal';

export class AccountService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly audit: AuditService,
    private readonly sessions: SessionService,
    private readonly limiter: AttemptLimiter,
    private readonly config: ApiConfig,
  ) {}

  /** Creates the account and logs it in: one transaction, so a failure leaves no half account. */
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
      return await this.prisma.$transaction(async (tx) => {
        const account = await tx.account.create({ data: { email: input.email, passwordHash, planId: plan.id }, include: { plan: true } });
        await this.audit.record(tx, accountActor(account, client.ip), {
          action: 'account.create',
          targetType: 'account',
          targetId: account.id,
          detail: { email: account.email, plan: plan.code },
        });
        return this.sessions.start(tx, account, client);
      });
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

  /**
   * Ends every other session and revokes the API tokens (but the one making the request): whoever
   * held one, perhaps the reason for the change, must log in again with the new password.
   */
  async changePassword(principal: Principal, input: { currentPassword: string; newPassword: string }, ip: string): Promise<void> {
    const account = await this.prisma.account.findUniqueOrThrow({ where: { id: principal.accountId } });
    const subjects = passwordCheckSubjects(this.config, account.id);
    await this.limiter.hit(subjects);
    if (!(await verifyPassword(account.passwordHash, input.currentPassword))) {
      // Named as a field too, so a form can put the refusal beside the input it is about.
      throw new HttpProblem(403, 'Wrong current password', 'currentPassword is not the password of this account; nothing was changed.', {
        errors: [{ in: 'body', field: 'currentPassword', message: 'is not the password of this account' }],
      });
    }
    await this.limiter.refund(subjects);
    const passwordHash = await hashPassword(input.newPassword);
    await this.prisma.$transaction(async (tx) => {
      await tx.account.update({ where: { id: account.id }, data: { passwordHash } });
      const ended = await tx.session.deleteMany({
        where: { accountId: account.id, ...(principal.session ? { id: { not: principal.session.id } } : {}) },
      });
      const revoked = await tx.apiToken.updateMany({
        where: { accountId: account.id, revokedAt: null, ...(principal.tokenId ? { id: { not: principal.tokenId } } : {}) },
        data: { revokedAt: new Date() },
      });
      await this.audit.record(tx, actorOf(principal, ip), {
        action: 'account.password_change',
        targetType: 'account',
        targetId: account.id,
        detail: { otherSessionsEnded: ended.count, tokensRevoked: revoked.count },
      });
    });
  }
}
