import type { FormEvent } from 'react';
import { Link, useLocation } from 'react-router';
import { ApiError } from '../api/api-error.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { NewPasswordFields, useNewPassword } from '../ui/new-password-fields.js';
import { usePageTitle } from '../ui/use-page-title.js';
import { tokenInFragment, useConfirmPasswordReset } from './recovery-queries.js';

/** Reached from the mailed link; the token is in the fragment. */
export function ResetPasswordPage() {
  usePageTitle('Choose a new password');
  const token = tokenInFragment(useLocation().hash);
  const confirm = useConfirmPasswordReset();
  const newPassword = useNewPassword();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (newPassword.matches()) confirm.mutate({ token, newPassword: newPassword.password });
    else confirm.reset();
  };
  const error = confirm.error instanceof ApiError ? confirm.error : undefined;
  const badLink = error?.fieldMessage('token');

  if (confirm.isSuccess) {
    return (
      <div className="page narrow">
        <h1>Password set</h1>
        <p className="notice card" role="status">
          Your new password is set. Every browser was logged out and your API tokens stopped working. <Link to="/login">Log in</Link> with the new
          password.
        </p>
      </div>
    );
  }
  return (
    <div className="page narrow">
      <h1>Choose a new password</h1>
      {badLink || !token ? (
        <div className="notice notice-error card" role="alert">
          This link is not valid any more: it was used already, expired, or was cut short. <Link to="/forgot-password">Ask for a new one</Link>.
        </div>
      ) : (
        <form onSubmit={submit} className="card stack" noValidate>
          <NewPasswordFields state={newPassword} error={error?.fieldMessage('newPassword')} />
          <ErrorNotice error={error?.fields.length ? null : confirm.error} />
          <button type="submit" className="button-primary" disabled={confirm.isPending}>
            {confirm.isPending ? 'Setting…' : 'Set new password'}
          </button>
        </form>
      )}
    </div>
  );
}
