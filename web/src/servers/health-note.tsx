import { Link } from 'react-router';
import type { Server } from '../api/types.js';
import { ago } from '../ui/format.js';
import { useNow } from '../ui/use-now.js';
import { troubleOf } from './server-condition.js';

type Watched = Pick<Server, 'id' | 'state' | 'health'>;

/** "Checked 2 minutes ago.", kept current while the page stays open; null before Parley has looked. */
function useChecked(server: Watched): string | null {
  const now = useNow(10_000);
  const { checkedAt } = server.health;
  return checkedAt ? `Checked ${ago(checkedAt, now)}.` : null;
}

const FALLBACK = 'Parley found a problem with your server.';

/**
 * The server's observed health under its name: what is wrong and what Parley is doing, in the
 * API's plain words, and when Parley last looked. A live region (not a status role: the Power
 * section owns the page's status message) so a change is announced.
 */
export function HealthNote({ server }: { server: Watched }) {
  const checked = useChecked(server);
  const trouble = troubleOf(server);
  const watched = server.state === 'ready' || server.state === 'stopped';
  return (
    <div aria-live="polite">
      {trouble ? (
        <p className={`notice ${trouble === 'degraded' ? 'notice-warn' : 'notice-error'}`}>
          {server.health.message ?? FALLBACK}{' '}
          {trouble === 'needs_attention' ? (
            <>
              <Link to={`/servers/${server.id}/manage`}>Open Manage</Link>.{' '}
            </>
          ) : null}
          {checked}
        </p>
      ) : watched && checked ? (
        <p className="hint">
          {server.health.status === 'ok' ? 'Healthy. ' : ''}
          {checked}
        </p>
      ) : null}
    </div>
  );
}

/** The same, in a line of the servers list: only when something is wrong. */
export function HealthLine({ server }: { server: Watched }) {
  const checked = useChecked(server);
  if (!troubleOf(server)) return null;
  return <span className="list-sub">{[server.health.message ?? FALLBACK, checked].filter(Boolean).join(' ')}</span>;
}
