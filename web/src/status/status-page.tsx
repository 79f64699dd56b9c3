import { ErrorNotice } from '../ui/error-notice.js';
import { formatDateTime } from '../ui/format.js';
import { QueryFallback } from '../ui/query-fallback.js';
import { usePageTitle } from '../ui/use-page-title.js';
import { STATUS_REFRESH_MS, usePlatformStatus, type ComponentStatus, type PlatformStatus } from './status-queries.js';

const COMPONENT_BADGES: Record<ComponentStatus, { label: string; tone: string }> = {
  up: { label: 'Working', tone: 'good' },
  down: { label: 'Down', tone: 'bad' },
};

const OVERALL_TONES: Record<PlatformStatus['status'], string> = { operational: 'notice', degraded: 'notice notice-warn', down: 'notice notice-error' };

/** The page's headline: how the platform is, naming what is down. */
function overallSentence({ status, components }: PlatformStatus): string {
  if (status === 'operational') return 'Everything is working.';
  if (status === 'down') return 'Parley is down: none of its parts is working right now.';
  const down = components.filter((component) => component.status === 'down').map((component) => component.name);
  return `Some of Parley is not working right now: ${down.join(', ')}. Everything else is.`;
}

/** Public: the platform's parts up or down and its recent incidents, for anyone, logged in or not. */
export function StatusPage() {
  usePageTitle('Platform status');
  const query = usePlatformStatus();
  if (!query.data) return <QueryFallback pending={query.isPending} error={query.error} back={{ to: '/', label: 'Back to Parley' }} />;
  const current = query.data;
  return (
    <div className="page">
      <h1>Platform status</h1>
      {/* A live region: a screen reader hears the headline change when a refresh changes it. */}
      <p className={OVERALL_TONES[current.status]} role="status">
        <strong>{overallSentence(current)}</strong>
      </p>
      <p className="hint">
        Checked <time dateTime={current.checkedAt}>{formatDateTime(current.checkedAt)}</time>; this page checks again every {STATUS_REFRESH_MS / 1000}{' '}
        seconds.
      </p>
      {/* A failed refresh keeps the last answer on screen, saying it could not be renewed. */}
      <ErrorNotice error={query.error} />

      <section className="stack" aria-labelledby="components-heading">
        <h2 id="components-heading">Components</h2>
        <ul className="list">
          {current.components.map((component) => {
            const badge = COMPONENT_BADGES[component.status];
            return (
              <li className="list-row" key={component.code}>
                <span className="list-title">{component.name}</span>
                <span className={`badge badge-${badge.tone}`}>{badge.label}</span>
              </li>
            );
          })}
        </ul>
      </section>

      <section className="stack" aria-labelledby="incidents-heading">
        <h2 id="incidents-heading">Recent incidents</h2>
        {current.incidents.length === 0 ? (
          <p className="hint">No incidents in the last 14 days.</p>
        ) : (
          <ul className="list">
            {current.incidents.map((incident) => (
              <li className="list-row" key={`${incident.component}-${incident.startedAt}`}>
                <div className="list-main">
                  <span className="list-title">{incident.name} down</span>
                  <span className="list-sub">
                    From <time dateTime={incident.startedAt}>{formatDateTime(incident.startedAt)}</time> to{' '}
                    {incident.resolvedAt ? <time dateTime={incident.resolvedAt}>{formatDateTime(incident.resolvedAt)}</time> : 'now (ongoing)'}
                  </span>
                </div>
                <span className={`badge badge-${incident.resolvedAt ? 'muted' : 'bad'}`}>{incident.resolvedAt ? 'Resolved' : 'Ongoing'}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
