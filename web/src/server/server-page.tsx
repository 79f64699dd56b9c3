import { Link, NavLink, Outlet, useOutletContext, useParams } from 'react-router';
import type { ServerDetail } from '../api/types.js';
import { useServer } from '../servers/server-queries.js';
import { HealthNote } from '../servers/health-note.js';
import { ServerBadge } from '../servers/server-badge.js';
import { useTimelineStream } from './use-timeline.js';
import { QueryFallback } from '../ui/query-fallback.js';
import { usePageTitle } from '../ui/use-page-title.js';

/** A server's header and tabs; each tab reads the server through the outlet context. */
export function ServerPage() {
  const { serverId = '' } = useParams();
  const server = useServer(serverId);
  usePageTitle(server.data?.domain ?? 'Server');
  useTimelineStream(serverId, server.data?.state);

  if (!server.data) return <QueryFallback pending={server.isPending} error={server.error} back={{ to: '/servers', label: 'Back to your servers' }} />;
  const s = server.data;
  return (
    <div className="page">
      <p className="crumb">
        <Link to="/servers">Servers</Link>
      </p>
      <div className="page-head">
        <h1>{s.domain}</h1>
        <ServerBadge server={s} />
      </div>
      <HealthNote server={s} />
      <nav className="tabs" aria-label="Server">
        <NavLink to={`/servers/${s.id}`} end>
          Overview
        </NavLink>
        <NavLink to={`/servers/${s.id}/users`}>Users and invites</NavLink>
        <NavLink to={`/servers/${s.id}/usage`}>Usage</NavLink>
        <NavLink to={`/servers/${s.id}/manage`}>Manage</NavLink>
      </nav>
      <Outlet context={s} />
    </div>
  );
}

export const useServerContext = () => useOutletContext<ServerDetail>();
