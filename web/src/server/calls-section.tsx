import type { ServerDetail } from '../api/types.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { useRotateCallsSecret } from './calls-queries.js';

/** The calls relay's secret: replaced on request (after a leak) without disconnecting anyone. */
export function CallsSection({ server }: { server: ServerDetail }) {
  const rotate = useRotateCallsSecret(server.id);
  if (!server.calls) return null;
  return (
    <section className="card stack" aria-labelledby="calls-title">
      <h2 id="calls-title">Calls</h2>
      <p>
        Apps get short-lived credentials for Parley’s call relay from your server. If you think its secret leaked, replace it: credentials handed out until now stop
        working, and apps fetch new ones by themselves. Nobody is disconnected.
      </p>
      <div className="action-row">
        <button type="button" onClick={() => rotate.mutate()} disabled={rotate.isPending}>
          Replace the calls secret
        </button>
        {rotate.isSuccess ? (
          <span className="hint" role="status">
            Replacing; the timeline shows when it is done.
          </span>
        ) : null}
      </div>
      <ErrorNotice error={rotate.error} />
    </section>
  );
}
