import { Link } from 'react-router';
import type { Incident, ServerDetail } from '../api/types.js';
import { formatDateTime } from '../ui/format.js';
import { useNow } from '../ui/use-now.js';
import { formatDuration, incidentDuration, incidentTitle, repairWords, splitIncidents } from './incidents.js';

/** How many resolved incidents the panel lists: the recent past, not an archive. */
const RECENT = 5;

function CurrentIncident({ incident, serverId, now }: { incident: Incident; serverId: string; now: number }) {
  const attention = incident.status === 'needs_attention';
  return (
    <article className={`incident ${attention ? 'incident-attention' : 'incident-open'}`} aria-labelledby={`incident-${incident.id}`}>
      <h3 id={`incident-${incident.id}`}>{incidentTitle(incident.kind)}</h3>
      <dl className="facts">
        <dt>Since</dt>
        <dd>
          {formatDateTime(incident.openedAt)} (for {formatDuration(incidentDuration(incident, now))})
        </dd>
        <dt>What Parley does</dt>
        <dd>
          {repairWords(incident)}
          {attention ? (
            <>
              {' '}
              <Link to={`/servers/${serverId}/manage`}>Open Manage</Link>
            </>
          ) : null}
        </dd>
        <dt>Repair attempts</dt>
        <dd>{incident.repairAttempts}</dd>
      </dl>
    </article>
  );
}

/**
 * The server's incidents: what is going on now (what, since when, what Parley is doing about it)
 * and how the recent ones ended. Nothing when the server has never had one.
 */
export function IncidentPanel({ server }: { server: ServerDetail }) {
  // Every second: an incident going on says for how long.
  const now = useNow(1_000);
  const { current, resolved } = splitIncidents(server.incidents);
  if (current.length === 0 && resolved.length === 0) return null;
  return (
    <section className="card stack incidents" aria-labelledby="incidents-title">
      <h2 id="incidents-title">Incidents</h2>
      {current.length > 0 ? (
        current.map((incident) => <CurrentIncident key={incident.id} incident={incident} serverId={server.id} now={now} />)
      ) : (
        <p>Nothing is wrong right now.</p>
      )}
      {resolved.length > 0 ? (
        <div className="stack">
          <h3>Resolved</h3>
          <ul className="plain resolved-incidents">
            {resolved.slice(0, RECENT).map((incident) => (
              <li key={incident.id}>
                <span className="incident-what">{incidentTitle(incident.kind)}</span>{' '}
                <span className="hint">
                  {formatDateTime(incident.openedAt)}, lasted {formatDuration(incidentDuration(incident, now))}
                </span>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </section>
  );
}
