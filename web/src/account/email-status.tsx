import type { Account } from '../api/types.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { useResendVerification } from './account-queries.js';

/** Until the email is confirmed, a password reset may not reach its owner: say so, and offer the link again. */
export function EmailStatus({ account }: { account: Account }) {
  const resend = useResendVerification();
  if (account.emailVerified) return null;
  return (
    <section className="notice notice-warn stack" aria-label="Email not confirmed">
      <p>
        <strong>Confirm your email.</strong> We mailed a link to {account.email} when you signed up. Until you open it, we cannot be sure a password
        reset reaches you.
      </p>
      {resend.isSuccess ? <p role="status">A new link is on its way to {account.email}.</p> : null}
      <ErrorNotice error={resend.error} />
      <div className="actions">
        <button type="button" className="button-small" disabled={resend.isPending} onClick={() => resend.mutate()}>
          {resend.isPending ? 'Sending…' : 'Mail me a new link'}
        </button>
      </div>
    </section>
  );
}
