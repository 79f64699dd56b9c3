import type { ServerDetail } from '../api/types.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { useServerAction, type ServerAction } from './server-actions-queries.js';

const ACTIONS: { action: ServerAction; label: string; when: (s: ServerDetail) => boolean; explain: string }[] = [
  { action: 'restart', label: 'Restart', when: (s) => s.state === 'ready', explain: 'Connected apps reconnect by themselves within seconds.' },
  { action: 'stop', label: 'Stop', when: (s) => s.state === 'ready', explain: 'Nobody can connect until you start it again; nothing is deleted.' },
  { action: 'start', label: 'Start', when: (s) => s.state === 'stopped', explain: 'Brings the server back with everything on it.' },
];

export function ServerActions({ server }: { server: ServerDetail }) {
  const act = useServerAction(server.id);
  const available = ACTIONS.filter((a) => a.when(server));
  return (
    <section className="card stack" aria-labelledby="actions-title">
      <h2 id="actions-title">Power</h2>
      {available.length === 0 ? <p className="hint">Actions are available once the server is ready or stopped; it is {server.state} now.</p> : null}
      <ul className="plain stack">
        {available.map((a) => (
          <li key={a.action} className="action-row">
            <button type="button" onClick={() => act.mutate(a.action)} disabled={act.isPending}>
              {a.label}
            </button>
            <span className="hint">{a.explain}</span>
          </li>
        ))}
      </ul>
      {act.isSuccess ? (
        <p className="notice" role="status">
          Requested: the state above follows the server.
        </p>
      ) : null}
      <ErrorNotice error={act.error} />
    </section>
  );
}
