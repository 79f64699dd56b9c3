import { useState } from 'react';
import { Field } from './field.js';

/**
 * A new password, typed twice: there is no way back into an account whose new password was
 * mistyped. The match is the dashboard's own check; every other rule is the API's.
 */
export function useNewPassword() {
  const [password, setPassword] = useState('');
  const [repeated, setRepeated] = useState('');
  const [mismatch, setMismatch] = useState(false);
  return {
    password,
    repeated,
    mismatch,
    setPassword,
    setRepeated,
    /** Records whether the two match, and says so. */
    matches(): boolean {
      setMismatch(repeated !== password);
      return repeated === password;
    },
    clear(): void {
      setPassword('');
      setRepeated('');
    },
  };
}

export function NewPasswordFields({ state, error }: { state: ReturnType<typeof useNewPassword>; error: string | undefined }) {
  return (
    <>
      <Field
        label="New password"
        type="password"
        name="new-password"
        autoComplete="new-password"
        required
        minLength={12}
        hint="At least 12 characters. A few unrelated words work well."
        value={state.password}
        onChange={(e) => state.setPassword(e.target.value)}
        error={error}
      />
      <Field
        label="New password again"
        type="password"
        name="repeat-password"
        autoComplete="new-password"
        required
        value={state.repeated}
        onChange={(e) => state.setRepeated(e.target.value)}
        error={state.mismatch ? 'does not match the new password' : undefined}
      />
    </>
  );
}
