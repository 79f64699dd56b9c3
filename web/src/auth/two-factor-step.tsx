import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/api-error.js';
import { useFinishLogIn } from '../session/use-session.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { Field } from '../ui/field.js';

/** Log-in's second step for accounts with two-factor on: the password was right, a code finishes it. */
export function TwoFactorStep({ challenge, onDone, onRestart }: { challenge: string; onDone: () => void; onRestart: () => void }) {
  const finish = useFinishLogIn();
  const [code, setCode] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    finish.mutate({ challenge, code }, { onSuccess: onDone });
  };
  const error = finish.error instanceof ApiError ? finish.error : undefined;
  // An expired or used challenge cannot be fixed by another code: back to the password.
  const expired = error?.status === 401;
  return (
    <form onSubmit={submit} className="card stack" noValidate>
      <h2>Two-factor code</h2>
      <p className="hint">Open your authenticator app and type the 6-digit code it shows for Parley. Lost the app? Type one of your recovery codes.</p>
      <Field
        label="Code"
        name="code"
        autoComplete="one-time-code"
        inputMode="text"
        required
        autoFocus
        value={code}
        onChange={(e) => setCode(e.target.value)}
        error={error?.fieldMessage('code')}
      />
      <ErrorNotice error={error?.fields.length ? null : finish.error} />
      <div className="actions">
        {expired ? (
          <button type="button" className="button-primary" onClick={onRestart}>
            Log in again
          </button>
        ) : (
          <button type="submit" className="button-primary" disabled={finish.isPending}>
            {finish.isPending ? 'Checking…' : 'Log in'}
          </button>
        )}
      </div>
    </form>
  );
}
