import { ErrorNotice } from '../ui/error-notice.js';
import { usePageTitle } from '../ui/use-page-title.js';
import { useAuditLog } from './audit-queries.js';
import { AuditTable } from './audit-table.js';

export function AuditPage() {
  usePageTitle('Activity');
  const log = useAuditLog();
  return (
    <div className="page">
      <h1>Activity</h1>
      <p className="lede">Everything done on your account: who, what, when and from where.</p>
      <ErrorNotice error={log.error} />
      {log.data ? <AuditTable entries={log.data.items} /> : log.isPending ? <p className="loading">Loading…</p> : null}
    </div>
  );
}
