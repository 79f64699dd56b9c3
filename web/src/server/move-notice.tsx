import type { ServerEvent } from '../api/types.js';
import { formatDateTime } from '../ui/format.js';
import { lastAttempt } from './last-attempt.js';

/** A move to another machine under way, or the last one that finished, with how long XMPP was down. */
export function MoveNotice({ moving, events }: { moving: boolean; events: readonly ServerEvent[] }) {
  if (moving) {
    return (
      <p className="notice" role="status">
        Moving to another machine: Parley stopped the server, backs it up and starts it there from that backup. Apps reconnect by themselves once it answers again.
      </p>
    );
  }
  const moved = lastAttempt(events, 'move');
  if (moved?.status !== 'succeeded' || moved.downtimeMs === null) return null;
  return (
    <p className="notice">
      Moved to another machine on {formatDateTime(moved.at)}; it did not answer for {(moved.downtimeMs / 1000).toFixed(1)} seconds. Nothing was lost: it started there from a backup taken once it had stopped.
    </p>
  );
}
