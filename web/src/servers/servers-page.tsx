import { Link } from 'react-router';
import { ErrorNotice } from '../ui/error-notice.js';
import { usePageTitle } from '../ui/use-page-title.js';
import { DeletedServersSection } from './deleted-servers-section.js';
import { isBeingDeleted, useServers } from './server-queries.js';
import { HealthLine } from './health-note.js';
import { ServerBadge } from './server-badge.js';

export function ServersPage() {
  usePageTitle('Servers');
  const servers = useServers();
  const live = servers.data?.items.filter((s) => s.state !== 'deleted') ?? [];
  const deleting = live.some(isBeingDeleted);
  return (
    <div className="page">
      <div className="page-head">
        <h1>Your servers</h1>
        <Link className="button button-primary" to="/servers/new">
          Order a server
        </Link>
      </div>
      <ErrorNotice error={servers.error} />
      {servers.isPending ? <p className="loading">Loading…</p> : null}
      {servers.data && live.length === 0 ? (
        <div className="card empty">
          <p>You have no servers yet. Order one: it is ready in seconds, with its own address, certificate and admin account.</p>
        </div>
      ) : null}
      {live.length > 0 ? (
        <ul className="list">
          {live.map((server) => (
            <li key={server.id} className="list-row">
              <Link to={`/servers/${server.id}`} className="list-main">
                <span className="list-title">{server.domain}</span>
                <span className="list-sub">
                  {server.plan} plan · federation {server.federation ? 'on' : 'off'}
                </span>
                <HealthLine server={server} />
              </Link>
              <ServerBadge server={server} />
            </li>
          ))}
        </ul>
      ) : null}
      <DeletedServersSection deleting={deleting} />
    </div>
  );
}
