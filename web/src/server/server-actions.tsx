import type { ServerDetail, ServerState } from '../api/types.js';
import { useServerUntil } from '../servers/server-queries.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { useLastAttempt } from './last-attempt-queries.js';
import { failureNotice } from './last-attempt.js';
import { useServerAction, type ServerAction } from './server-actions-queries.js';

interface ActionInfo {
  action: ServerAction;
  label: string;
  when: (s: ServerDetail) => boolean;
  explain: string;
  /** The state the server ends in and what to say until then; a restart ends where it began, so there is nothing to follow. */
  outcome?: { state: ServerState; working: string };
  done: string;
}

const ACTIONS: ActionInfo[] = [
  {
    action: 'restart',
    label: 'Restart',
    when: (s) => s.state === 'ready',
    explain: 'Connected apps reconnect by themselves within seconds.',
    done: 'Restart requested: connected apps reconnect by themselves within seconds.',
  },
  {
    action: 'stop',
    label: 'Stop',
    when: (s) => s.state === 'ready',
    explain: 'Nobody can connect until you start it again; nothing is deleted.',
    outcome: { state: 'stopped', working: 'Stopping: nobody can connect from now on.' },
    done: 'Stopped. Start it again whenever you like.',
  },
  {
    action: 'start',
    label: 'Start',
    when: (s) => s.state === 'stopped',
    explain: 'Brings the server back with everything on it.',
    outcome: { state: 'ready', working: 'Starting: ready once it answers again.' },
    done: 'Running again: apps can connect.',
  },
];

export function ServerActions({ server }: { server: ServerDetail }) {
  const act = useServerAction(server.id);
  const requested = act.isSuccess ? ACTIONS.find((a) => a.action === act.variables) : undefined;
  const waitingFor = requested?.outcome && server.state !== requested.outcome.state ? requested.outcome : undefined;
  useServerUntil(server.id, waitingFor?.state);
  const attempt = useLastAttempt(server.id, waitingFor && requested && act.data ? { action: requested.action, since: act.data.since } : undefined).data;
  // The worker records success just after the new state, so either one means it is done.
  const working = waitingFor && attempt?.status !== 'succeeded' ? waitingFor.working : undefined;
  // While the worker carries an action out, the buttons of the state it leaves would mislead.
  const available = waitingFor ? [] : ACTIONS.filter((a) => a.when(server));
  return (
    <section className="card stack" aria-labelledby="actions-title">
      <h2 id="actions-title">Power</h2>
      {available.length === 0 && !waitingFor ? <p className="hint">Actions are available once the server is ready or stopped; it is {server.state} now.</p> : null}
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
      {requested ? (
        <p className="notice" role="status">
          {working ?? requested.done}
        </p>
      ) : null}
      {working && attempt?.status === 'failed' ? (
        <p className="notice notice-warn" role="alert">
          {failureNotice(attempt)}
        </p>
      ) : null}
      <ErrorNotice error={act.error} />
    </section>
  );
}
