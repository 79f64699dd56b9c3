import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/api-error.js';
import { Copyable } from '../ui/copyable.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { Field } from '../ui/field.js';
import { QrCode } from '../ui/qr-code.js';
import { useStartEnrolment, type useConfirmEnrolment } from './two-factor-queries.js';
import { YourPasswordField } from './your-password-field.js';

/** Two steps: the password gets a secret for the app (QR code), then a code from the app turns it on. */
export function TwoFactorEnrolment({ confirm }: { confirm: ReturnType<typeof useConfirmEnrolment> }) {
  const start = useStartEnrolment();
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const startError = start.error instanceof ApiError ? start.error : undefined;
  const confirmError = confirm.error instanceof ApiError ? confirm.error : undefined;

  const begin = (event: FormEvent) => {
    event.preventDefault();
    start.mutate(password, { onSuccess: () => setPassword('') });
  };
  const finish = (event: FormEvent) => {
    event.preventDefault();
    confirm.mutate(code);
  };

  if (!start.data) {
    return (
      <form onSubmit={begin} className="stack password-form" noValidate>
        <p className="hint">Off. With it on, log-in also asks for a code from an authenticator app on your phone (such as Aegis, FreeOTP or Google Authenticator).</p>
        <YourPasswordField value={password} onChange={setPassword} error={startError?.fieldMessage('password')} />
        <ErrorNotice error={startError?.fields.length ? null : start.error} />
        <div className="actions">
          <button type="submit" className="button-primary" disabled={start.isPending}>
            {start.isPending ? 'One moment…' : 'Set up two-factor log-in'}
          </button>
        </div>
      </form>
    );
  }
  return (
    <form onSubmit={finish} className="stack password-form" noValidate>
      <p>Scan this code with your authenticator app, or type the key into it:</p>
      <QrCode value={start.data.otpauthUri} label="QR code for your authenticator app" />
      <Copyable value={start.data.secret} label="two-factor key" />
      <Field
        label="Code from the app"
        name="two-factor-code"
        autoComplete="one-time-code"
        inputMode="numeric"
        required
        hint="The 6 digits the app now shows for Parley."
        value={code}
        onChange={(e) => setCode(e.target.value)}
        error={confirmError?.fieldMessage('code')}
      />
      <ErrorNotice error={confirmError?.fields.length ? null : confirm.error} />
      <div className="actions">
        <button type="submit" className="button-primary" disabled={confirm.isPending}>
          {confirm.isPending ? 'Checking…' : 'Turn on two-factor log-in'}
        </button>
      </div>
    </form>
  );
}
