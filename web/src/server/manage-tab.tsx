import { useAuditLog } from '../audit/audit-queries.js';
import { AuditTable } from '../audit/audit-table.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { BackupsSection } from './backups-section.js';
import { CallsSection } from './calls-section.js';
import { ContactsSection } from './contacts-section.js';
import { DeleteServer } from './delete-server.js';
import { ExportsSection } from './exports-section.js';
import { ServerActions } from './server-actions.js';
import { useServerContext } from './server-page.js';

export function ManageTab() {
  const server = useServerContext();
  const log = useAuditLog();
  const entries = log.data?.items.filter((e) => e.targetId === server.id) ?? [];
  return (
    <div className="stack">
      <ServerActions server={server} />
      <ContactsSection server={server} />
      <CallsSection server={server} />
      <BackupsSection server={server} />
      <ExportsSection server={server} />
      <section className="card stack" aria-labelledby="server-log-title">
        <h2 id="server-log-title">Audit log</h2>
        <ErrorNotice error={log.error} />
        <AuditTable entries={entries} />
      </section>
      <DeleteServer server={server} />
    </div>
  );
}
