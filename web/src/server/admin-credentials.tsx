import type { ServerDetail } from '../api/types.js';
import { Copyable } from '../ui/copyable.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { useResetAdmin, useRevealAdmin } from './credentials-queries.js';

export function AdminCredentials({ server }: { server: ServerDetail }) {
  const reveal = useRevealAdmin(server.id);
  const reset = useResetAdmin(server.id);
  const credential = reveal.data;
  const ready = server.state === 'ready';
  return (
    <section className="card stack" aria-labelledby="admin-title">
      <h2 id="admin-title">Admin account</h2>
      {credential ? (
        <>
          <dl className="facts">
            <dt>Address</dt>
            <dd>
              <Copyable value={credential.jid} label="admin address" />
            </dd>
            <dt>Password</dt>
            <dd>
              <Copyable value={credential.password} label="admin password" />
            </dd>
          </dl>
          <p className="notice notice-warn">Save this password now, in a password manager. Parley shows it only once.</p>
        </>
      ) : (
        <>
          <p>The admin password can be shown once. Have a password manager ready.</p>
          <ErrorNotice error={reveal.error} />
          {reset.isSuccess ? (
            <p className="notice" role="status">
              A new password is being set; reveal it in a few seconds. The old one stops working.
            </p>
          ) : null}
          <div className="actions">
            <button type="button" className="button-primary" onClick={() => reveal.mutate(undefined, { onSuccess: () => reset.reset() })} disabled={reveal.isPending || !ready}>
              {reveal.isPending ? 'Revealing…' : 'Reveal admin password'}
            </button>
          </div>
        </>
      )}
      <div className="stack subtle">
        <p className="hint">Lost it? A reset issues a new password; the old one stops working.</p>
        <ErrorNotice error={reset.error} />
        <div className="actions">
          <button type="button" onClick={() => reset.mutate(undefined, { onSuccess: () => reveal.reset() })} disabled={reset.isPending || !ready}>
            Reset admin password
          </button>
        </div>
      </div>
    </section>
  );
}
