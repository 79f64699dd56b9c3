import { Link, useParams } from 'react-router';
import { useServer } from '../servers/server-queries.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { usePageTitle } from '../ui/use-page-title.js';
import { CLIENT_APPS } from './clients.js';

/**
 * A one-page handout for the people joining a server: how to get an app and sign in. It holds
 * no password: the admin hands those out (or an invite link) separately.
 */
export function WelcomeKitPage() {
  const { serverId = '' } = useParams();
  const server = useServer(serverId);
  usePageTitle(server.data ? `Welcome to ${server.data.domain}` : 'Welcome kit');
  const s = server.data;
  if (!s) return <main className="page">{server.isPending ? <p className="loading">Loading…</p> : <ErrorNotice error={server.error} />}</main>;
  return (
    <main className="page kit" id="main">
      <p className="no-print actions">
        <Link to={`/servers/${s.id}`}>Back to the server</Link>{' '}
        <button type="button" className="button-primary" onClick={() => window.print()}>
          Print
        </button>
      </p>
      <h1>Welcome to {s.domain}</h1>
      <p className="lede">A private chat server: your messages, group chats and shared files are kept on it, not on a big platform.</p>
      <h2>1. Install an app</h2>
      <ul>
        {CLIENT_APPS.map((app) => (
          <li key={app.name}>
            <strong>{app.name}</strong> ({app.platform}): {app.omemo ? 'end-to-end encryption (OMEMO)' : 'no end-to-end encryption'}
            {app.audioVideoCalls ? ', audio and video calls' : ''}.
          </li>
        ))}
      </ul>
      <h2>2. Sign in</h2>
      <p>
        Your address looks like <strong>yourname@{s.connection?.jidDomain ?? s.domain}</strong>. Use the password or the invite link your admin gave you. The
        app finds the server by itself; if it asks, the server is <strong>{s.connection?.host ?? s.domain}</strong>, port{' '}
        <strong>{s.connection?.ports.starttls ?? 5222}</strong>.
      </p>
      <h2>3. Turn on encryption</h2>
      <p>In a chat, choose OMEMO (the lock icon). Compare the fingerprints with the other person once, in person or on a call.</p>
      {s.federation ? <p>You can also chat with people on other XMPP servers: add them by their address.</p> : <p>This server is private: you can chat with people who have an account on it.</p>}
    </main>
  );
}
