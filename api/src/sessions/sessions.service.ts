import { isIP } from 'node:net';
import type { PrismaClient } from '../../../prisma/client.js';
import type { Account, Plan, Prisma } from '../../../prisma/generated/client/client.js';
import { toAccountDto, type AuthenticatedDto } from '../accounts/accounts.schemas.js';
import { accountActor, actorOf, type AuditService } from '../audit/audit.service.js';
import { issueAccountToken } from '../auth/account-tokens.js';
import { describeDuration, type AttemptLimiter, type LimitedSubject } from '../auth/attempt-limiter.js';
import { csrfTokenFor, randomSecret, sha256 } from '../auth/credentials.js';
import { verifyPassword } from '../auth/passwords.js';
import type { Principal } from '../auth/principal.js';
import type { ApiConfig } from '../config.js';
import { HttpProblem } from '../http/problem.js';

/** Where a request came from, as recorded on sessions and audit rows. */
export interface ClientInfo {
  ip: string;
  userAgent: string | undefined;
}

/** A session just started: the cookie value is only ever in this object and the Set-Cookie header. */
export interface IssuedSession {
  cookieToken: string;
  expiresAt: Date;
  body: AuthenticatedDto;
}

/** A right password for an account with two-factor on: the log-in finishes with a code (POST /sessions/two-factor). */
export interface TwoFactorChallenge {
  twoFactorRequired: true;
  challenge: string;
  expiresAt: string;
}

/**
 * Log-in failures are counted per email from one address and per address, never per email alone:
 * a stranger's wrong guesses would otherwise lock the owner out everywhere.
 */
export function loginSubjects(config: ApiConfig, email: string, ip: string): LimitedSubject[] {
  return [
    {
      scope: 'login-email-ip',
      subject: `${email} ${ip}`,
      limit: config.rateLimits.loginFailuresPerEmailAndAddress,
      description: 'failed log-ins for this email from your address',
    },
    { scope: 'login-ip', subject: ip, limit: config.rateLimits.loginFailuresPerIp, description: 'failed log-ins from your address' },
  ];
}

/**
 * The current-password check of a password change, counted per account: its caller is logged in
 * already, so only a holder of the account's session or token can spend it, and a stolen one
 * cannot be used to guess the password from many addresses.
 */
export function passwordCheckSubjects(config: ApiConfig, accountId: string): LimitedSubject[] {
  return [
    { scope: 'password-check', subject: accountId, limit: config.rateLimits.loginFailuresPerEmailAndAddress, description: 'wrong current passwords for this account' },
  ];
}

export function accountSuspended(): HttpProblem {
  return new HttpProblem(403, 'Account suspended', 'This account is suspended and cannot log in. Contact Parley support to restore it.');
}

export class SessionService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly audit: AuditService,
    private readonly limiter: AttemptLimiter,
    private readonly config: ApiConfig,
  ) {}

  /** Creates the session row (inside the caller's transaction) and the response body for it. */
  async start(tx: Prisma.TransactionClient, account: Account & { plan: Plan }, client: ClientInfo): Promise<IssuedSession> {
    const cookieToken = randomSecret();
    const csrfToken = csrfTokenFor(cookieToken);
    const expiresAt = new Date(Date.now() + this.config.sessionTtlHours * 3_600_000);
    const session = await tx.session.create({
      data: {
        accountId: account.id,
        tokenHash: sha256(cookieToken),
        csrfSecretHash: sha256(csrfToken),
        expiresAt,
        ip: isIP(client.ip) ? client.ip : null,
        userAgent: client.userAgent?.slice(0, 512) ?? null,
      },
    });
    await this.audit.record(tx, accountActor(account, client.ip), {
      action: 'session.create',
      targetType: 'session',
      targetId: session.id,
      detail: { expiresAt },
    });
    return { cookieToken, expiresAt, body: { account: toAccountDto(account), csrfToken, sessionExpiresAt: expiresAt.toISOString() } };
  }

  async logIn(credentials: { email: string; password: string }, client: ClientInfo): Promise<IssuedSession | TwoFactorChallenge> {
    const subjects = loginSubjects(this.config, credentials.email, client.ip);
    await this.limiter.hit(subjects);
    const account = await this.prisma.account.findUnique({ where: { email: credentials.email }, include: { plan: true } });
    if (!(await verifyPassword(account?.passwordHash ?? null, credentials.password)) || !account) {
      const { max, windowSeconds } = this.config.rateLimits.loginFailuresPerEmailAndAddress;
      throw new HttpProblem(
        401,
        'Wrong email or password',
        `The email or the password is wrong. After ${max} failed attempts, log-in for this email from your address pauses for ${describeDuration(windowSeconds)}.`,
      );
    }
    await this.limiter.refund(subjects);
    if (account.disabledAt) {
      throw accountSuspended();
    }
    if (account.totpEnabledAt) return this.challenge(account, client);
    return this.prisma.$transaction((tx) => this.start(tx, account, client));
  }

  private async challenge(account: Account, client: ClientInfo): Promise<TwoFactorChallenge> {
    const { token, expiresAt } = await this.prisma.$transaction(async (tx) => {
      const issued = await issueAccountToken(tx, account.id, 'login_challenge', this.config.accountTokenTtls.loginChallengeMinutes);
      await this.audit.record(tx, accountActor(account, client.ip), { action: 'session.challenge', targetType: 'account', targetId: account.id });
      return issued;
    });
    return { twoFactorRequired: true, challenge: token, expiresAt: expiresAt.toISOString() };
  }

  async logOut(principal: Principal, ip: string): Promise<void> {
    if (!principal.session) {
      throw new HttpProblem(
        400,
        'No session to end',
        'This request is authenticated by an API token, not a session. To stop a token from working, revoke it with DELETE /api/v1/tokens/{id}.',
      );
    }
    const sessionId = principal.session.id;
    await this.prisma.$transaction(async (tx) => {
      await tx.session.deleteMany({ where: { id: sessionId } });
      await this.audit.record(tx, actorOf(principal, ip), { action: 'session.delete', targetType: 'session', targetId: sessionId });
    });
  }
}
