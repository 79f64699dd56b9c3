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
