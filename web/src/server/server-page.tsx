import { Link, NavLink, Outlet, useOutletContext, useParams } from 'react-router';
import type { ServerDetail } from '../api/types.js';
import { useServer } from '../servers/server-queries.js';
import { StateBadge } from '../servers/state-badge.js';
import { QueryFallback } from '../ui/query-fallback.js';
import { usePageTitle } from '../ui/use-page-title.js';

/** A server's header and tabs; each tab reads the server through the outlet context. */
export function ServerPage() {
  const { serverId = '' } = useParams();
  const server = useServer(serverId);
  usePageTitle(server.data?.domain ?? 'Server');

  if (!server.data) return <QueryFallback pending={server.isPending} error={server.error} back={{ to: '/servers', label: 'Back to your servers' }} />;
  const s = server.data;
  return (
    <div className="page">
      <p className="crumb">
        <Link to="/servers">Servers</Link>
      </p>
      <div className="page-head">
        <h1>{s.domain}</h1>
        <StateBadge state={s.state} />
      </div>
      <nav className="tabs" aria-label="Server">
        <NavLink to={`/servers/${s.id}`} end>
          Overview
        </NavLink>
        <NavLink to={`/servers/${s.id}/users`}>Users and invites</NavLink>
        <NavLink to={`/servers/${s.id}/manage`}>Manage</NavLink>
      </nav>
      <Outlet context={s} />
    </div>
  );
}

export const useServerContext = () => useOutletContext<ServerDetail>();
