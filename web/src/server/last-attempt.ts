import type { ServerEvent } from '../api/types.js';

/**
 * The outcome of the newest finished attempt at `step` (an action such as stop, or restore) among
 * `events` (the timeline, oldest first). A 'started' event is passed over: while the worker
 * retries, the failure before it is still the latest thing worth saying.
 */
export function lastAttempt(events: readonly ServerEvent[], step: string): ServerEvent | undefined {
  return events.findLast((e) => e.step === step && (e.status === 'failed' || e.status === 'succeeded'));
}

/** Whether the worker is done with an attempt: it succeeded, or failed with no retry to come. */
export const isFinal = (attempt: Pick<ServerEvent, 'status' | 'willRetry'> | undefined): boolean =>
  attempt?.status === 'succeeded' || (attempt?.status === 'failed' && !attempt.willRetry);

/** A failed attempt in plain words: retried ones say so, the last one says Parley has stopped trying. */
export function failureNotice(event: Pick<ServerEvent, 'message' | 'attempt' | 'maxAttempts' | 'willRetry'>): string {
  const reason = event.message.replace(/\.$/, '');
  if (event.willRetry) {
    const of = event.maxAttempts === null ? '' : ` of ${event.maxAttempts}`;
    return `Attempt ${event.attempt}${of} failed: ${reason}. Parley keeps trying for a few minutes; this page says so once it works.`;
  }
  return `The last attempt failed: ${reason}. Parley has stopped trying; try again later, or contact support if it keeps failing.`;
}
