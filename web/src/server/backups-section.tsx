import type { ServerDetail } from '../api/types.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { ListTable } from '../ui/list-table.js';
import { useNow } from '../ui/use-now.js';
import { useBackUpNow, useBackups, useRestore } from './backup-queries.js';
import { BackupRow } from './backup-row.js';
import { hasData, nextBackupWords, scheduleWords } from './backups.js';
import { isUnderWay } from './queued-work.js';
import { RestoreNotice } from './restore-notice.js';

/** The plan's schedule, "Back up now", and the server's backups, each finished one restorable. */
export function BackupsSection({ server }: { server: ServerDetail }) {
  const restore = useRestore(server.id);
  const backups = useBackups(server.id, restore.following || server.state === 'restoring');
  const backUp = useBackUpNow(server.id);
  // "due now" and "in 3 hours" stay true while the page is open.
  const now = useNow(60_000);
  const list = backups.data;
  const items = list?.items ?? [];
  const available = hasData(server) && !restore.following;
  // A safety backup belongs to its restore: another can still be asked for meanwhile.
  const underWay = items.some((b) => b.kind !== 'safety' && isUnderWay(b));
  return (
    <section className="card stack" aria-labelledby="backups-title">
      <h2 id="backups-title">Backups</h2>
      {list ? (
        <p>
          {scheduleWords(list.schedule)} Next backup: {nextBackupWords(list.schedule.nextAt, now)}.
        </p>
      ) : null}
      {available ? (
        <div className="action-row">
          <button type="button" onClick={() => backUp.mutate()} disabled={backUp.isPending || underWay}>
            Back up now
          </button>
          <span className="hint">{underWay ? 'A backup is under way; it is listed below.' : 'Your server pauses for a moment while its data is copied.'}</span>
        </div>
      ) : restore.following ? null : (
        <p className="hint">
          {server.state === 'restoring' ? 'The server is being restored; backups can be taken again once it is ready.' : 'Backups can be taken and restored once the server is ready or stopped.'}
        </p>
      )}
      <ErrorNotice error={backUp.error} />
      {restore.request.isSuccess ? <RestoreNotice attempt={restore.attempt} following={restore.following} /> : null}
      <ErrorNotice error={backups.error} />
      <ListTable label="Backup list" columns={['Taken', 'Kind', 'Status', 'Size']} empty="No backups yet." loaded={list !== undefined}>
        {items.map((backup) => {
          const mine = restore.request.variables === backup.id;
          return (
            <BackupRow
              key={backup.id}
              serverId={server.id}
              backup={backup}
              canRestore={available}
              onRestore={() => restore.request.mutate(backup.id)}
              restore={{ pending: mine && restore.request.isPending, error: mine ? restore.request.error : null }}
            />
          );
        })}
      </ListTable>
    </section>
  );
}
