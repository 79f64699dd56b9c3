import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { ApiError } from '../api/api-error.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { Field } from '../ui/field.js';
import { usePageTitle } from '../ui/use-page-title.js';
import { useRequestPasswordReset } from './recovery-queries.js';

export function ForgotPasswordPage() {
  usePageTitle('Forgot password');
  const request = useRequestPasswordReset();
  const [email, setEmail] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    request.mutate(email);
  };
  const error = request.error instanceof ApiError ? request.error : undefined;
  return (
    <div className="page narrow">
      <h1>Reset your password</h1>
      <p className="lede">We mail you a link to choose a new one.</p>
      {request.isSuccess ? (
        <p className="notice card" role="status">
          If an account has the email {email}, a link to reset its password is on its way. It works once, for an hour. Check your spam folder
          if it does not arrive.
        </p>
      ) : (
        <form onSubmit={submit} className="card stack" noValidate>
          <Field label="Email" type="email" name="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} error={error?.fieldMessage('email')} />
          <ErrorNotice error={error?.fields.length ? null : request.error} />
          <button type="submit" className="button-primary" disabled={request.isPending}>
            {request.isPending ? 'Sending…' : 'Mail me a link'}
          </button>
        </form>
      )}
      <p className="switch">
        Remembered it? <Link to="/login">Log in</Link>
      </p>
    </div>
  );
}
