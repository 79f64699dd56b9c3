import type { EncryptedSecret, Prisma } from '../../../prisma/generated/client/client.js';
import { totpSecretContext } from '../../../worker/src/contracts/secret-contexts.js';
import type { SecretSealer } from '../../../worker/src/crypto/secret-sealer.js';
import type { LimitedSubject } from '../auth/attempt-limiter.js';
import { sha256 } from '../auth/credentials.js';
import { looksLikeRecoveryCode, normalizeRecoveryCode } from '../auth/recovery-codes.js';
import { matchingStep } from '../auth/totp.js';
import type { ApiConfig } from '../config.js';
import { HttpProblem } from '../http/problem.js';

/** What an account needs for its second factor to be checked. */
export interface TwoFactorAccount {
  id: string;
  totpSecret: EncryptedSecret | null;
}

/**
 * Wrong codes are counted per account: a code is only asked of someone who knew the password, and
 * the few valid codes among a million must not be guessable from many addresses at once.
 */
export function secondFactorSubjects(config: ApiConfig, accountId: string): LimitedSubject[] {
  return [
    { scope: 'second-factor', subject: accountId, limit: config.rateLimits.loginFailuresPerEmailAndAddress, description: 'wrong two-factor codes for this account' },
  ];
}

export function openTotpSecret(secrets: SecretSealer, account: TwoFactorAccount): string | null {
  return account.totpSecret ? secrets.open(account.totpSecret, totpSecretContext(account.id)) : null;
}

/**
 * Accepts a TOTP code of the account's app, once: the step is recorded with a conditional update,
 * so the same code (or an older one) is refused the second time, even by a parallel request.
 */
export async function acceptTotp(tx: Prisma.TransactionClient, secret: string, accountId: string, code: string, at = new Date()): Promise<boolean> {
  const step = matchingStep(secret, code.trim(), at);
  if (step === null) return false;
  const accepted = await tx.account.updateMany({
    where: { id: accountId, OR: [{ totpLastStep: null }, { totpLastStep: { lt: step } }] },
    data: { totpLastStep: step },
  });
  return accepted.count === 1;
}

/** A TOTP code or one of the account's unused recovery codes (spent here). */
export async function acceptSecondFactor(tx: Prisma.TransactionClient, secrets: SecretSealer, account: TwoFactorAccount, code: string): Promise<boolean> {
  if (looksLikeRecoveryCode(code)) {
    const spent = await tx.recoveryCode.updateMany({
      where: { accountId: account.id, codeHash: sha256(normalizeRecoveryCode(code)), usedAt: null },
      data: { usedAt: new Date() },
    });
    return spent.count === 1;
  }
  const secret = openTotpSecret(secrets, account);
  return secret !== null && acceptTotp(tx, secret, account.id, code);
}

export function wrongCode(field: string): HttpProblem {
  return new HttpProblem(403, 'Wrong code', `${field} is not a current code of your authenticator app, nor an unused recovery code. Type the code your app shows now.`, {
    errors: [{ in: 'body', field, message: 'is not a current code or an unused recovery code' }],
  });
}
