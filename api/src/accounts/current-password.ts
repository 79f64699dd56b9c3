import type { Account } from '../../../prisma/generated/client/client.js';
import type { AttemptLimiter } from '../auth/attempt-limiter.js';
import { verifyPassword } from '../auth/passwords.js';
import type { ApiConfig } from '../config.js';
import { HttpProblem } from '../http/problem.js';
import { passwordCheckSubjects } from '../sessions/sessions.service.js';

/**
 * A logged-in caller proving they know the password before a sensitive change (a new password,
 * two-factor on or off). Counted per account, refunded when right; 403 naming the field when wrong.
 */
export async function assertCurrentPassword(
  limiter: AttemptLimiter,
  config: ApiConfig,
  account: Pick<Account, 'id' | 'passwordHash'>,
  password: string,
  field: string,
): Promise<void> {
  const subjects = passwordCheckSubjects(config, account.id);
  await limiter.hit(subjects);
  if (!(await verifyPassword(account.passwordHash, password))) {
    // Named as a field too, so a form can put the refusal beside the input it is about.
    throw new HttpProblem(403, 'Wrong current password', `${field} is not the password of this account; nothing was changed.`, {
      errors: [{ in: 'body', field, message: 'is not the password of this account' }],
    });
  }
  await limiter.refund(subjects);
}
