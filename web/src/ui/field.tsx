import { useId, type InputHTMLAttributes } from 'react';

interface FieldProps extends InputHTMLAttributes<HTMLInputElement> {
  label: string;
  hint?: string;
  /** The API's message for this field, shown under it and tied to it for screen readers. */
  error?: string | undefined;
}

// The API words field messages to follow the field's name ("is already taken", "must be ...").
const withSubject = (label: string, message: string) => (/^[a-z]/.test(message) ? `${label} ${message}` : message);

export function Field({ label, hint, error, ...input }: FieldProps) {
  const id = useId();
  const describedBy = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {hint ? (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy} {...input} />
      {error ? (
        <p className="field-error" id={`${id}-error`}>
          {withSubject(label, error)}
        </p>
      ) : null}
    </div>
  );
}
