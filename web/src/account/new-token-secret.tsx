import { Copyable } from '../ui/copyable.js';

/** The one time the secret is on screen: the API keeps only its hash. */
export function NewTokenSecret({ name, secret, onDone }: { name: string; secret: string; onDone: () => void }) {
  return (
    <div className="stack new-token">
      <p role="status">
        <strong>Token “{name}” created.</strong> Here it is:
      </p>
      <Copyable value={secret} label="new API token" />
      <p className="notice notice-warn">
        Store it now, in a password manager or your script’s secret store. Parley shows it only this once; if it is lost, revoke it and create
        another.
      </p>
      <div className="actions">
        <button type="button" className="button-small" onClick={onDone}>
          I have stored it
        </button>
      </div>
    </div>
  );
}
