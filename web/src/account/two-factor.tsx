import type { Account } from '../api/types.js';
import { RecoveryCodes } from './recovery-codes.js';
import { TwoFactorEnrolment } from './two-factor-enrolment.js';
import { TwoFactorOff } from './two-factor-off.js';
import { useConfirmEnrolment } from './two-factor-queries.js';

/** Account settings' two-factor section: enrol an app, see the recovery codes once, or turn it off. */
export function TwoFactor({ account }: { account: Account }) {
  const confirm = useConfirmEnrolment();
  return (
    <section className="card stack" aria-labelledby="two-factor-title">
      <h2 id="two-factor-title">Two-factor log-in</h2>
      {confirm.data ? (
        <RecoveryCodes codes={confirm.data.recoveryCodes} onDone={() => confirm.reset()} />
      ) : account.twoFactorEnabled ? (
        <TwoFactorOff />
      ) : (
        <TwoFactorEnrolment confirm={confirm} />
      )}
    </section>
  );
}
