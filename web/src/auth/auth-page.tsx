import { useState, type FormEvent } from 'react';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router';
import { ApiError } from '../api/api-error.js';
import { useAuthenticate, useSession } from '../session/use-session.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { Field } from '../ui/field.js';
import { usePageTitle } from '../ui/use-page-title.js';
import { TwoFactorStep } from './two-factor-step.js';

/** Only a path on this site: a crafted ?next=//elsewhere must not send anyone away. */
const safeNext = (next: string | null) => (next && next.startsWith('/') && !next.startsWith('//') ? next : '/servers');

export function AuthPage({ mode }: { mode: 'login' | 'signup' }) {
  const signingUp = mode === 'signup';
  usePageTitle(signingUp ? 'Sign up' : 'Log in');
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const session = useSession();
  const authenticate = useAuthenticate(mode);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const next = safeNext(params.get('next'));

  if (session.data) return <Navigate to={next} replace />;
  const challenge = authenticate.data && 'challenge' in authenticate.data ? authenticate.data.challenge : null;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    // A two-factor account answers with a challenge instead: the code step renders, nothing to leave for yet.
    authenticate.mutate(
      { email, password },
      {
        onSuccess: (answer) => {
          if ('account' in answer) void navigate(next, { replace: true });
        },
      },
    );
  };
  const error = authenticate.error instanceof ApiError ? authenticate.error : undefined;
  const fieldErrors = error?.fields.length ? error : undefined;

  return (
    <div className="page narrow">
      <h1>{signingUp ? 'Create your Parley account' : 'Log in to Parley'}</h1>
      <p className="lede">{signingUp ? 'Your own private chat server, ready in seconds.' : 'Manage your chat servers, users and domains.'}</p>
      {challenge ? (
        <TwoFactorStep challenge={challenge} onDone={() => void navigate(next, { replace: true })} onRestart={() => authenticate.reset()} />
      ) : (
        <form onSubmit={submit} className="card stack" noValidate>
          <Field label="Email" type="email" name="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} error={fieldErrors?.fieldMessage('email')} />
          <Field
            label="Password"
            type="password"
            name="password"
            autoComplete={signingUp ? 'new-password' : 'current-password'}
            required
            minLength={signingUp ? 12 : undefined}
            hint={signingUp ? 'At least 12 characters. A few unrelated words work well.' : undefined}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            error={fieldErrors?.fieldMessage('password')}
          />
          {/* Field problems sit under their fields; the rest (wrong password, too many attempts, API down) here. */}
          <ErrorNotice error={fieldErrors ? null : authenticate.error} />
          <button type="submit" className="button-primary" disabled={authenticate.isPending}>
            {authenticate.isPending ? 'One moment…' : signingUp ? 'Create account' : 'Log in'}
          </button>
          {signingUp ? null : (
            <p className="hint">
              <Link to="/forgot-password">Forgot your password?</Link>
            </p>
          )}
        </form>
      )}
      <p className="switch">
        {signingUp ? (
          <>
            Already have an account? <Link to={`/login?next=${encodeURIComponent(next)}`}>Log in</Link>
          </>
        ) : (
          <>
            New to Parley? <Link to={`/signup?next=${encodeURIComponent(next)}`}>Create an account</Link>
          </>
        )}
      </p>
    </div>
  );
}
