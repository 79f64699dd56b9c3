import { useState } from 'react';
import type { DeletedServer } from '../api/types.js';
import { ConfirmQuestion } from '../ui/confirm-question.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { formatDateTime } from '../ui/format.js';

interface DeletedServerRowProps {
  server: DeletedServer;
  onBringBack: () => void;
  /** This row's request: while it is being sent, or why it was refused. */
  bringBack: { pending: boolean; error: unknown };
}

export function DeletedServerRow({ server, onBringBack, bringBack }: DeletedServerRowProps) {
  const [confirming, setConfirming] = useState(false);
  return (
    <li className="list-row">
      <div className="list-main">
        <span className="list-title">{server.domain}</span>
        <span className="list-sub">
          Name {server.name} · deleted {formatDateTime(server.deletedAt)}
        </span>
        <span className="list-sub">
          {server.restorable
            ? `Can be brought back until ${formatDateTime(server.restorableUntil)}.`
            : 'Cannot be brought back: Parley kept no backup of it when it was deleted (it had no data then, or the backup did not finish).'}
        </span>
      </div>
      {server.restorable ? (
        <div className="stack confirm-bring-back">
          {confirming ? (
            <ConfirmQuestion
              yes="Yes, bring back"
              yesLabel={`Yes, bring back ${server.domain}`}
              tone="primary"
              onYes={() => {
                onBringBack();
                setConfirming(false);
              }}
              onNo={() => setConfirming(false)}
            >
              It is set up again with its data as it was when it was deleted, and a new admin password to reveal on its page.
            </ConfirmQuestion>
          ) : (
            <div className="row-actions">
              <button type="button" className="button-small" onClick={() => setConfirming(true)} disabled={bringBack.pending} aria-label={`Bring back ${server.domain}`}>
                {bringBack.pending ? 'Bringing back…' : 'Bring back'}
              </button>
            </div>
          )}
          <ErrorNotice error={bringBack.error} />
        </div>
      ) : null}
    </li>
  );
}
