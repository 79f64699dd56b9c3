import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/api-error.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { Field } from '../ui/field.js';
import { useChangePassword } from './account-queries.js';

export function ChangePassword() {
  const change = useChangePassword();
  const [currentPassword, setCurrentPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [repeated, setRepeated] = useState('');
  // There is no way back into an account whose new password was mistyped, so it is typed twice;
  // that check is the dashboard's own, every other one the API's.
  const [mismatch, setMismatch] = useState(false);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const differs = repeated !== newPassword;
    setMismatch(differs);
    if (differs) {
      change.reset();
      return;
    }
    change.mutate(
      { currentPassword, newPassword },
      {
        onSuccess: () => {
          setCurrentPassword('');
          setNewPassword('');
          setRepeated('');
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
        <Field
          label="New password"
          type="password"
          name="new-password"
          autoComplete="new-password"
          required
          minLength={12}
          hint="At least 12 characters. A few unrelated words work well."
          value={newPassword}
          onChange={(e) => setNewPassword(e.target.value)}
          error={fieldErrors?.fieldMessage('newPassword')}
        />
        <Field
          label="New password again"
          type="password"
          name="repeat-password"
          autoComplete="new-password"
          required
          value={repeated}
          onChange={(e) => setRepeated(e.target.value)}
          error={mismatch ? 'does not match the new password' : undefined}
        />
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
