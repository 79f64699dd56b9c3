import { CopyButton } from '../ui/copy-button.js';

/** The one time the recovery codes are on screen: the API keeps only their hashes. */
export function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  return (
    <div className="stack">
      <p role="status">
        <strong>Two-factor log-in is on.</strong> From now on, log-in asks for a code of your app after the password.
      </p>
      <p>If you lose the app, each of these recovery codes logs you in once instead of a code:</p>
      <ul className="recovery-codes" aria-label="Recovery codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ul>
      <div className="actions">
        <CopyButton value={codes.join('\n')} label="recovery codes" />
      </div>
      <p className="notice notice-warn">Store them now, in a password manager or on paper. Parley shows them only this once.</p>
      <div className="actions">
        <button type="button" className="button-small" onClick={onDone}>
          I have stored them
        </button>
      </div>
    </div>
  );
}
