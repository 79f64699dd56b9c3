import type { ServerImport } from '../api/types.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { importWords } from './imports.js';

interface ImportFileFieldProps {
  onChange: (file: File | null) => void;
  /** The upload the API accepted for the chosen file. */
  uploaded: ServerImport | undefined;
  /** Why the upload, or the order's use of it, was refused. */
  error: unknown;
  /** The new server's address, where the file's users end up. */
  address: string;
  /** Takes the focus when it appears: it replaces the clone notice whose button was just pressed. */
  autoFocus: boolean;
}

/** The optional XEP-0227 file of an order moving from another provider; it is uploaded when the order is placed. */
export function ImportFileField({ onChange, uploaded, error, address, autoFocus }: ImportFileFieldProps) {
  const describedBy = ['order-import-hint', uploaded ? 'order-import-status' : '', error ? 'order-import-error' : ''].filter(Boolean).join(' ');
  return (
    <fieldset className="card stack">
      <legend>Move from another provider</legend>
      <div className="field">
        <label htmlFor="order-import">Import a XEP-0227 file (optional)</label>
        <p className="hint" id="order-import-hint">
          The export of your users from another XMPP server. Their accounts with their passwords, contacts, profiles, PEP data and message archives come along; group chats do not.
        </p>
        <input
          id="order-import"
          type="file"
          accept=".xml,application/xml,text/xml"
          aria-describedby={describedBy}
          aria-invalid={error ? true : undefined}
          autoFocus={autoFocus}
          onChange={(e) => onChange(e.target.files?.[0] ?? null)}
        />
        {uploaded ? (
          <p className="notice" role="status" id="order-import-status">
            {importWords(uploaded, address)}
          </p>
        ) : null}
        <ErrorNotice error={error} id="order-import-error" />
      </div>
    </fieldset>
  );
}
