import { Link } from 'react-router';
import { ErrorNotice } from '../ui/error-notice.js';
import { AdminCredentials } from './admin-credentials.js';
import { ClientGuide } from './client-guide.js';
import { ComplianceCard } from './compliance-card.js';
import { ConnectionCard } from './connection-card.js';
import { IncidentPanel } from './incident-panel.js';
import { MoveNotice } from './move-notice.js';
import { ProvisioningProgress } from './provisioning-progress.js';
import { useServerContext } from './server-page.js';
import { useTimeline } from './use-timeline.js';

export function OverviewTab() {
  const server = useServerContext();
  const timeline = useTimeline(server.id);
  const events = timeline.data ?? [];
  // Until it has been ready once, the steps are the page; afterwards they fold away.
  const settingUp = server.readyAt === null;
  // An incident going on comes first; past ones are history, below the connection details.
  const ongoing = server.incidents.some((i) => i.status !== 'resolved');
  return (
    <div className="stack">
      <ErrorNotice error={timeline.error} />
      {settingUp ? (
        <section className="card" aria-labelledby="progress-title">
          <ProvisioningProgress server={server} events={events} />
        </section>
      ) : null}
      {ongoing ? <IncidentPanel server={server} /> : null}
      {server.state === 'stopped' ? <p className="notice">This server is stopped: nobody can connect until you start it again (Manage).</p> : null}
      <MoveNotice moving={server.state === 'moving'} events={events} />
      {server.connection && !settingUp ? (
        <>
          <ConnectionCard server={server} />
          <ComplianceCard server={server} />
          {ongoing ? null : <IncidentPanel server={server} />}
          <AdminCredentials server={server} />
          <ClientGuide />
          <p>
            <Link to={`/servers/${server.id}/welcome`} className="button">
              Open the printable welcome kit
            </Link>
          </p>
          <details className="card">
            <summary>How it was set up</summary>
            <ProvisioningProgress server={server} events={events} />
          </details>
        </>
      ) : null}
    </div>
  );
}
