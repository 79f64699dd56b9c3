import type { ServerDetail } from '../api/types.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { ListTable } from '../ui/list-table.js';
import { useNow } from '../ui/use-now.js';
import { hasData } from './backups.js';
import { useExports, useExportUsers } from './export-queries.js';
import { ExportRow } from './export-row.js';
import { isUnderWay } from './queued-work.js';

/** "Export users": a XEP-0227 file of the server's users to take to another provider, and the exports made so far. */
export function ExportsSection({ server }: { server: ServerDetail }) {
  const exports = useExports(server.id);
  const exportUsers = useExportUsers(server.id);
  // Expiry and "in 6 days" stay true while the page is open.
  const now = useNow(60_000);
  const list = exports.data;
  const items = list?.items ?? [];
  const underWay = items.some(isUnderWay);
  return (
    <section className="card stack" aria-labelledby="exports-title">
      <h2 id="exports-title">Export users</h2>
      <p>
        An export is one file in the standard XEP-0227 format that other XMPP servers import: your users’ accounts with their passwords, contacts, profiles, PEP data (such as
        OMEMO keys and avatars) and message archives, but not group chats; it is for moving them to another provider or server of your own.
      </p>
      {hasData(server) ? (
        <div className="action-row">
          <button type="button" onClick={() => exportUsers.mutate()} disabled={exportUsers.isPending || underWay}>
            Export users
          </button>
          <span className="hint">
            {underWay ? 'An export is under way; it is listed below.' : 'Your server pauses for a moment while its data is read. Keep the file private: it holds your users’ password data and messages.'}
          </span>
        </div>
      ) : (
        <p className="hint">Users can be exported once the server is ready or stopped.</p>
      )}
      <ErrorNotice error={exportUsers.error} />
      <ErrorNotice error={exports.error} />
      <ListTable label="Export list" columns={['Asked for', 'Status', 'Users', 'Size', 'Download until']} empty="No exports yet." loaded={list !== undefined}>
        {items.map((item) => (
          <ExportRow key={item.id} serverId={server.id} item={item} now={now} />
        ))}
      </ListTable>
    </section>
  );
}
