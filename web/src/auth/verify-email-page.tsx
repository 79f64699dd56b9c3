import { useEffect, useRef } from 'react';
import { Link, useLocation } from 'react-router';
import { useSession } from '../session/use-session.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { usePageTitle } from '../ui/use-page-title.js';
import { tokenInFragment, useVerifyEmail } from './recovery-queries.js';

/** Reached from the link mailed at sign-up: confirms the email as soon as it opens, logged in or not. */
export function VerifyEmailPage() {
  usePageTitle('Confirm your email');
  const token = tokenInFragment(useLocation().hash);
  const verify = useVerifyEmail();
  // A logged-in browser's post needs the CSRF token that GET /me hands out: wait for it.
  const sessionKnown = !useSession().isPending;
  // Once per page: the token works once, and a second post would report it used.
  const sent = useRef(false);
  useEffect(() => {
    if (sent.current || !token || !sessionKnown) return;
    sent.current = true;
    verify.mutate(token);
  }, [token, verify, sessionKnown]);

  return (
    <div className="page narrow">
      <h1>Confirm your email</h1>
      {verify.isSuccess ? (
        <p className="notice card" role="status">
          Your email is confirmed. <Link to="/servers">Go to your servers</Link>.
        </p>
      ) : verify.isError || !token ? (
        <div className="stack">
          <ErrorNotice error={verify.error} />
          <p>
            The link may be used already or expired. Log in and ask for a new one from <Link to="/account">your account</Link>.
          </p>
        </div>
      ) : (
        <p role="status">Confirming…</p>
      )}
    </div>
  );
}
