import { Field } from '../ui/field.js';

/** The account's password, asked again before two-factor is turned on or off. */
export function YourPasswordField({ value, onChange, error }: { value: string; onChange: (value: string) => void; error: string | undefined }) {
  return (
    <Field
      label="Your password"
      type="password"
      name="two-factor-password"
      autoComplete="current-password"
      required
      value={value}
      onChange={(e) => onChange(e.target.value)}
      error={error}
    />
  );
}
