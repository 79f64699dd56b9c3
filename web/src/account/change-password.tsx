import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/api-error.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { Field } from '../ui/field.js';
import { NewPasswordFields, useNewPassword } from '../ui/new-password-fields.js';
import { useChangePassword } from './account-queries.js';

export function ChangePassword() {
  const change = useChangePassword();
  const [currentPassword, setCurrentPassword] = useState('');
  const newPassword = useNewPassword();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!newPassword.matches()) {
      change.reset();
      return;
    }
    change.mutate(
      { currentPassword, newPassword: newPassword.password },
      {
        onSuccess: () => {
          setCurrentPassword('');
          newPassword.clear();
        },
      },
    );
  };
  const error = change.error instanceof ApiError ? change.error : undefined;
  const fieldErrors = error?.fields.length ? error : undefined;

  return (
    <section className="card" aria-labelledby="password-title">
      <form onSubmit={submit} className="stack password-form" noValidate>
        <h2 id="password-title">Change password</h2>
        <p className="hint">Every other browser logged in to this account is logged out, and your API tokens stop working: make new ones afterwards.</p>
        <Field
          label="Current password"
          type="password"
          name="current-password"
          autoComplete="current-password"
          required
          value={currentPassword}
          onChange={(e) => setCurrentPassword(e.target.value)}
          error={fieldErrors?.fieldMessage('currentPassword')}
        />
        <NewPasswordFields state={newPassword} error={fieldErrors?.fieldMessage('newPassword')} />
        <ErrorNotice error={fieldErrors ? null : change.error} />
        {change.isSuccess ? (
          <p className="notice" role="status">
            Password changed. Use the new one from now on; other browsers were logged out.
          </p>
        ) : null}
        <div className="actions">
          <button type="submit" className="button-primary" disabled={change.isPending}>
            {change.isPending ? 'Changing…' : 'Change password'}
          </button>
        </div>
      </form>
    </section>
  );
}
