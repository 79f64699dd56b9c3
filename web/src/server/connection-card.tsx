import type { ServerDetail } from '../api/types.js';
import { Copyable } from '../ui/copyable.js';
import { formatDate, relative } from '../ui/format.js';

/** Federation as Parley saw it, not as configured: the last connections with other servers. */
function federationSeen(seen: ServerDetail['federationSeen']): string {
  const at = (iso: string | null) => (iso ? relative(iso) : 'not yet');
  if (!seen.outgoingAt && !seen.incomingAt) return 'No connection with another server seen yet (Parley looks every few minutes).';
  return `Last seen connected to another server ${at(seen.outgoingAt)}; from another server ${at(seen.incomingAt)}.`;
}

/** Everything a person or an XMPP client needs to connect, each value copyable. */
export function ConnectionCard({ server }: { server: ServerDetail }) {
  const connection = server.connection;
  if (!connection) return null;
  const { ports } = connection;
  const notAfter = server.certificate?.notAfter;
  return (
    <section className="card stack" aria-labelledby="connection-title">
      <h2 id="connection-title">Connection</h2>
      <dl className="facts">
        <dt>Addresses</dt>
        <dd>
          <Copyable value={`name@${connection.jidDomain}`} label="address pattern" />
        </dd>
        <dt>Server</dt>
        <dd>
          <Copyable value={connection.host} label="server host name" />
        </dd>
        <dt>Ports</dt>
        <dd>
          <ul className="plain">
            <li>{ports.starttls} (STARTTLS, for apps)</li>
            {ports.directTls ? <li>{ports.directTls} (direct TLS)</li> : null}
            {ports.federation ? <li>{ports.federation} (other servers)</li> : null}
            {ports.upload ? <li>{ports.upload} (file uploads)</li> : null}
          </ul>
        </dd>
        <dt>Federation</dt>
        <dd>{server.federation ? `On: users can chat with other XMPP servers. ${federationSeen(server.federationSeen)}` : 'Off: private to this server'}</dd>
        <dt>Calls</dt>
        <dd>
          {server.calls
            ? `On: audio and video calls go through Parley's relay when a direct path fails. Networks must let out UDP and TCP port ${server.calls.turnPort} and UDP ports ${server.calls.relayPorts.replace('-', '–')} to ${connection.host}${server.calls.tls ? `; where only TLS gets out, TCP port ${server.calls.tls.port} to ${server.calls.tls.host} is enough` : ''}.`
            : 'Off: apps can call only when both sides reach each other directly'}
        </dd>
        <dt>Certificate</dt>
        <dd>{notAfter ? `Valid until ${formatDate(notAfter)} (${relative(notAfter)}); renewed automatically` : 'Not issued yet'}</dd>
      </dl>
      {server.srvRecords.length > 0 ? (
        <details>
          <summary>DNS SRV records ({server.srvRecords.length})</summary>
          <p className="hint">Apps find your server through these; Parley publishes them for you.</p>
          <ul className="plain srv">
            {server.srvRecords.map((r) => (
              <li key={`${r.name} ${r.value}`}>
                <code>
                  {r.name} {r.ttl} IN SRV {r.value}
                </code>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </section>
  );
}
