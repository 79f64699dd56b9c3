import type { PrismaClient } from '../../../prisma/client.js';
import type { SecretSealer } from '../../../worker/src/crypto/secret-sealer.js';
import { findLiveAccountToken, spendAccountToken } from '../auth/account-tokens.js';
import type { AttemptLimiter } from '../auth/attempt-limiter.js';
import type { ApiConfig } from '../config.js';
import { HttpProblem } from '../http/problem.js';
import { accountSuspended, type ClientInfo, type IssuedSession, type SessionService } from '../sessions/sessions.service.js';
import { acceptSecondFactor, secondFactorSubjects, wrongCode } from './second-factor.js';

/** The second step of a log-in with two-factor on: the challenge from the first, and a code. */
export class TwoFactorLogin {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly limiter: AttemptLimiter,
    private readonly secrets: SecretSealer,
    private readonly sessions: SessionService,
    private readonly config: ApiConfig,
  ) {}

  async finish(input: { challenge: string; code: string }, client: ClientInfo): Promise<IssuedSession> {
    const live = await findLiveAccountToken(this.prisma, 'login_challenge', input.challenge);
    if (!live) throw challengeGone();
    const subjects = secondFactorSubjects(this.config, live.accountId);
    await this.limiter.hit(subjects);
    const account = await this.prisma.account.findUniqueOrThrow({ where: { id: live.accountId }, include: { plan: true, totpSecret: true } });
    if (account.disabledAt) throw accountSuspended();
    const issued = await this.prisma.$transaction(async (tx) => {
      if (!(await acceptSecondFactor(tx, this.secrets, account, input.code))) throw wrongCode('code');
      if (!(await spendAccountToken(tx, 'login_challenge', input.challenge))) throw challengeGone();
      return this.sessions.start(tx, account, client);
    });
    await this.limiter.refund(subjects);
    return issued;
  }
}

function challengeGone(): HttpProblem {
  return new HttpProblem(401, 'Log-in step expired', 'This two-factor step is unknown, used already or expired. Log in again with your email and password (POST /api/v1/sessions).');
}
