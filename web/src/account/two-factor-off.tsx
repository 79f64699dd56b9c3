import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/api-error.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { Field } from '../ui/field.js';
import { useDisableTwoFactor } from './two-factor-queries.js';
import { YourPasswordField } from './your-password-field.js';

export function TwoFactorOff() {
  const disable = useDisableTwoFactor();
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    disable.mutate({ password, code });
  };
  const error = disable.error instanceof ApiError ? disable.error : undefined;
  return (
    <form onSubmit={submit} className="stack password-form" noValidate>
      <p className="hint">On: log-in asks for a code of your authenticator app after the password. To turn it off, confirm with both.</p>
      <YourPasswordField value={password} onChange={setPassword} error={error?.fieldMessage('password')} />
      <Field
        label="Code from the app, or a recovery code"
        name="two-factor-code"
        autoComplete="one-time-code"
        required
        value={code}
        onChange={(e) => setCode(e.target.value)}
        error={error?.fieldMessage('code')}
      />
      <ErrorNotice error={error?.fields.length ? null : disable.error} />
      <div className="actions">
        <button type="submit" className="button-danger" disabled={disable.isPending}>
          {disable.isPending ? 'Turning off…' : 'Turn off two-factor log-in'}
        </button>
      </div>
    </form>
  );
}
