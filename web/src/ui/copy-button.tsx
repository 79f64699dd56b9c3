import { useState } from 'react';

/** Copies `value`; says so for a moment, in words a screen reader also hears. */
export function CopyButton({ value, label }: { value: string; label: string }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const copy = () => {
    navigator.clipboard.writeText(value).then(
      () => setCopied('yes'),
      () => setCopied('failed'),
    );
    window.setTimeout(() => setCopied(null), 2000);
  };
  return (
    <button type="button" className="button-small" onClick={copy} aria-label={`Copy ${label}`}>
      <span aria-live="polite">{copied === 'yes' ? 'Copied' : copied === 'failed' ? 'Select and copy' : 'Copy'}</span>
    </button>
  );
}
