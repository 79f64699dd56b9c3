import { CopyButton } from './copy-button.js';

/** A value to paste elsewhere: monospaced, selectable, with its copy button. */
export function Copyable({ value, label }: { value: string; label: string }) {
  return (
    <span className="copyable">
      <code>{value}</code>
      <CopyButton value={value} label={label} />
    </span>
  );
}
