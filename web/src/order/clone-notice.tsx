import { useBackups } from '../server/backup-queries.js';
import { useServer } from '../servers/server-queries.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { cloneWords, type CloneSource } from './clone-source.js';

interface CloneNoticeProps {
  source: CloneSource;
  /** Why the order refused the backup (not one of yours, not finished), in the API's words. */
  error: unknown;
  /** Order an empty server instead. */
  onRemove: () => void;
}

/** The backup an order starts from, opened from its row in Backups; read from the same queries as that list, so usually at once. */
export function CloneNotice({ source, error, onRemove }: CloneNoticeProps) {
  const server = useServer(source.serverId);
  const backups = useBackups(source.serverId, false);
  const backup = backups.data?.items.find((b) => b.id === source.backupId);
  return (
    <fieldset className="card stack">
      <legend>Start as a clone</legend>
      <p className="notice" id="order-clone-notice">
        {cloneWords(server.data?.name, backup)}
      </p>
      <ErrorNotice error={error} id="order-clone-error" />
      <div className="action-row">
        <button type="button" onClick={onRemove} aria-describedby="order-clone-notice">
          Order an empty server instead
        </button>
      </div>
    </fieldset>
  );
}
