import type { ServerEvent } from '../api/types.js';
import type { ServerAction } from './server-actions-queries.js';

/**
 * The outcome of the newest finished attempt at `action` among `events` (the timeline, oldest
 * first). A 'started' event is passed over: while the worker retries, the failure before it is
 * still the latest thing worth saying.
 */
export function lastAttempt(events: readonly ServerEvent[], action: ServerAction): ServerEvent | undefined {
  return events.findLast((e) => e.step === action && (e.status === 'failed' || e.status === 'succeeded'));
}

// The worker's timeline suffix on a failure BullMQ will retry (worker/src/provisioning/timeline.ts).
const WILL_RETRY = /\s*\(will retry; attempt (\d+) of (\d+)\)\.?$/;

/** A failed attempt in plain words: retried ones say so, the last one says Parley has stopped trying. */
export function failureNotice(message: string): string {
  const retry = WILL_RETRY.exec(message);
  const reason = message.replace(WILL_RETRY, '').replace(/\.$/, '');
  if (retry) return `Attempt ${retry[1]} of ${retry[2]} failed: ${reason}. Parley keeps trying for a few minutes; this page says so once it works.`;
  return `The last attempt failed: ${reason}. Parley has stopped trying; try again later, or contact support if it keeps failing.`;
}
