import { useState } from 'react';
import { Link } from 'react-router';
import type { Backup } from '../api/types.js';
import { cloneOrderPath } from '../order/clone-source.js';
import { ConfirmQuestion } from '../ui/confirm-question.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { formatBytes, formatDateTime } from '../ui/format.js';
import { backupStatus, backupTime, KIND_WORDS } from './backups.js';
import { WorkStatus } from './work-status.js';

interface BackupRowProps {
  serverId: string;
  backup: Backup;
  /** Whether the server can be restored now; only a finished backup offers it. */
  canRestore: boolean;
  onRestore: () => void;
  /** This row's restore request: while it is being sent, or why it was refused. */
  restore: { pending: boolean; error: unknown };
}

export function BackupRow({ serverId, backup, canRestore, onRestore, restore }: BackupRowProps) {
  const [confirming, setConfirming] = useState(false);
  const when = formatDateTime(backupTime(backup));
  // Backups of the same minute read the same time: the kind tells them apart for a screen reader.
  const named = `the backup of ${when}, ${KIND_WORDS[backup.kind].toLowerCase()}`;
  const finished = backup.status === 'succeeded';
  const restorable = canRestore && finished;
  return (
    <tr>
      <td data-label="Taken">{when}</td>
      <td data-label="Kind">{KIND_WORDS[backup.kind]}</td>
      <td data-label="Status">
        <WorkStatus status={backupStatus(backup)} />
      </td>
      <td data-label="Size">{backup.sizeBytes === null ? '—' : formatBytes(backup.sizeBytes)}</td>
      <td>
        {restorable && confirming ? (
          <div className="stack confirm-restore">
            <ConfirmQuestion
              yes="Yes, restore"
              yesLabel={`Yes, restore ${named}`}
              tone="danger"
              onYes={() => {
                onRestore();
                setConfirming(false);
              }}
              onNo={() => setConfirming(false)}
            >
              Replaces the server’s data with this backup’s. Parley first keeps a safety backup of the data as it is now, so you can undo this.
            </ConfirmQuestion>
          </div>
        ) : finished ? (
          <div className="row-actions">
            {restorable ? (
              <button type="button" className="button-small" onClick={() => setConfirming(true)} disabled={restore.pending} aria-label={`Restore ${named}`}>
                Restore
              </button>
            ) : null}
            {/* Any finished backup, whatever the server is doing: a clone only reads it. */}
            <Link to={cloneOrderPath({ serverId, backupId: backup.id })} className="button button-small" aria-label={`Clone into a new server from ${named}`}>
              Clone into a new server
            </Link>
          </div>
        ) : null}
        <ErrorNotice error={restore.error} />
      </td>
    </tr>
  );
}
