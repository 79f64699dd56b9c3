import { useServerContext } from '../server/server-page.js';
import { InvitesPanel } from './invites-panel.js';
import { UsersPanel } from './users-panel.js';

export function UsersTab() {
  const server = useServerContext();
  if (server.state !== 'ready') {
    return <p className="notice">Users and invites can be managed once the server is ready; it is {server.state} now.</p>;
  }
  return (
    <div className="stack">
      <UsersPanel serverId={server.id} domain={server.connection?.jidDomain ?? server.domain} />
      <InvitesPanel serverId={server.id} />
    </div>
  );
}
