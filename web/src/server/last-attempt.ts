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

/** A failed attempt in plain words: retried ones say so, the last one says Parley has stopped trying. */
export function failureNotice(event: Pick<ServerEvent, 'message' | 'attempt' | 'maxAttempts' | 'willRetry'>): string {
  const reason = event.message.replace(/\.$/, '');
  if (event.willRetry) {
    const of = event.maxAttempts === null ? '' : ` of ${event.maxAttempts}`;
    return `Attempt ${event.attempt}${of} failed: ${reason}. Parley keeps trying for a few minutes; this page says so once it works.`;
  }
  return `The last attempt failed: ${reason}. Parley has stopped trying; try again later, or contact support if it keeps failing.`;
}
