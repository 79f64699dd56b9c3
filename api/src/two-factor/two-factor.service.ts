import type { PrismaClient } from '../../../prisma/client.js';
import { totpSecretContext } from '../../../worker/src/contracts/secret-contexts.js';
import type { SecretSealer } from '../../../worker/src/crypto/secret-sealer.js';
import { wipeSecrets } from '../../../worker/src/crypto/sealed-secret.js';
import { assertCurrentPassword } from '../accounts/current-password.js';
import { actorOf, type AuditService } from '../audit/audit.service.js';
import type { AttemptLimiter } from '../auth/attempt-limiter.js';
import { sha256 } from '../auth/credentials.js';
import type { Principal } from '../auth/principal.js';
import { RECOVERY_CODE_COUNT, newRecoveryCode } from '../auth/recovery-codes.js';
import { newTotpSecret, otpauthUri } from '../auth/totp.js';
import type { ApiConfig } from '../config.js';
import { HttpProblem } from '../http/problem.js';
import { acceptSecondFactor, acceptTotp, openTotpSecret, secondFactorSubjects, wrongCode } from './second-factor.js';

/**
 * Two-factor log-in with an authenticator app (TOTP). Enrolment is two steps, so it is only on once
 * the app has shown it produces the right codes; turning it off takes the password and a code.
 */
export class TwoFactorService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly audit: AuditService,
    private readonly limiter: AttemptLimiter,
    private readonly secrets: SecretSealer,
    private readonly config: ApiConfig,
  ) {}

  /** A new secret for the app, sealed at rest; replaces an enrolment not yet confirmed. */
  async start(principal: Principal, password: string, ip: string): Promise<{ secret: string; otpauthUri: string }> {
    const account = await this.prisma.account.findUniqueOrThrow({ where: { id: principal.accountId } });
    if (account.totpEnabledAt) throw alreadyOn();
    await assertCurrentPassword(this.limiter, this.config, account, password, 'password');
    const secret = newTotpSecret();
    await this.prisma.$transaction(async (tx) => {
      const sealed = await tx.encryptedSecret.create({ data: this.secrets.seal('totp_secret', secret, totpSecretContext(account.id)) });
      await tx.account.update({ where: { id: account.id }, data: { totpSecretId: sealed.id, totpLastStep: null } });
      if (account.totpSecretId) await wipeSecrets(tx, [account.totpSecretId]);
      await this.audit.record(tx, actorOf(principal, ip), { action: 'account.two_factor_enrol', targetType: 'account', targetId: account.id });
    });
    return { secret, otpauthUri: otpauthUri(secret, account.email, 'Parley') };
  }

  /** The app's first code turns two-factor on; the recovery codes are returned this once, stored hashed. */
  async confirm(principal: Principal, code: string, ip: string): Promise<string[]> {
    const account = await this.prisma.account.findUniqueOrThrow({ where: { id: principal.accountId }, include: { totpSecret: true } });
    if (account.totpEnabledAt) throw alreadyOn();
    const secret = openTotpSecret(this.secrets, account);
    if (!secret) {
      throw new HttpProblem(409, 'No enrolment started', 'Start two-factor enrolment first (POST /api/v1/me/two-factor/enrolment), add the secret to your app, then confirm a code.');
    }
    const subjects = secondFactorSubjects(this.config, account.id);
    await this.limiter.hit(subjects);
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await this.prisma.$transaction(async (tx) => {
      if (!(await acceptTotp(tx, secret, account.id, code))) throw wrongCode('code');
      await tx.account.update({ where: { id: account.id }, data: { totpEnabledAt: new Date() } });
      await tx.recoveryCode.deleteMany({ where: { accountId: account.id } });
      await tx.recoveryCode.createMany({ data: codes.map((c) => ({ accountId: account.id, codeHash: sha256(c) })) });
      await this.audit.record(tx, actorOf(principal, ip), {
        action: 'account.two_factor_on',
        targetType: 'account',
        targetId: account.id,
        detail: { recoveryCodes: RECOVERY_CODE_COUNT },
      });
    });
    await this.limiter.refund(subjects);
    return codes;
  }

  async disable(principal: Principal, input: { password: string; code: string }, ip: string): Promise<void> {
    const account = await this.prisma.account.findUniqueOrThrow({ where: { id: principal.accountId }, include: { totpSecret: true } });
    if (!account.totpEnabledAt) throw new HttpProblem(409, 'Two-factor is off', 'Two-factor log-in is not on for this account; there is nothing to turn off.');
    await assertCurrentPassword(this.limiter, this.config, account, input.password, 'password');
    const subjects = secondFactorSubjects(this.config, account.id);
    await this.limiter.hit(subjects);
    await this.prisma.$transaction(async (tx) => {
      if (!(await acceptSecondFactor(tx, this.secrets, account, input.code))) throw wrongCode('code');
      await tx.account.update({ where: { id: account.id }, data: { totpSecretId: null, totpEnabledAt: null, totpLastStep: null } });
      if (account.totpSecretId) await wipeSecrets(tx, [account.totpSecretId]);
      await tx.recoveryCode.deleteMany({ where: { accountId: account.id } });
      await this.audit.record(tx, actorOf(principal, ip), { action: 'account.two_factor_off', targetType: 'account', targetId: account.id });
    });
    await this.limiter.refund(subjects);
  }
}

function alreadyOn(): HttpProblem {
  return new HttpProblem(409, 'Two-factor is on', 'Two-factor log-in is on already. To enrol another app, turn it off first (POST /api/v1/me/two-factor/disable).');
}
