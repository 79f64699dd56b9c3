import type { Tone } from '../servers/server-condition.js';

/**
 * Backups and exports are work the worker takes from its queue: queued (also while a failed
 * attempt waits for its retry, with the error), running, then succeeded or failed.
 */
interface QueuedWork {
  status: string;
  requestedAt: string;
  attempts: number;
  /** Why the last attempt failed, in the API's words for the customer. */
  error: string | null;
}

export interface StatusWords {
  label: string;
  tone: Tone;
  /** What went wrong and what happens next; null when there is nothing to add. */
  detail: string | null;
}

export const isUnderWay = (work: Pick<QueuedWork, 'status'>) => work.status === 'queued' || work.status === 'running';

/** The API's reason as a sentence, or a general one when it gave none. */
export const failureSentence = (error: string | null) => (error ?? 'Something inside Parley failed').replace(/\.?$/, '.');

/** A failed attempt waiting for its retry, or null when the work is not in that state. */
export function retrying(work: Pick<QueuedWork, 'status' | 'attempts' | 'error'>): StatusWords | null {
  if (work.status !== 'queued' || work.error === null) return null;
  return { label: 'Retrying', tone: 'warn', detail: `Attempt ${work.attempts} failed: ${failureSentence(work.error)} Parley tries again by itself.` };
}

/** Past this, work still under way is waiting on retries spaced minutes apart (or a worker that is down). */
const LONG_WAIT_MS = 10 * 60_000;

/**
 * How often a list of such work is re-read: every 2 s while some is under way, every 30 s once
 * each one under way has waited long, and not at all when nothing is going on.
 */
export function underWayPollMs(items: readonly Pick<QueuedWork, 'status' | 'requestedAt'>[], now: number): number | false {
  const waiting = items.filter(isUnderWay).map((work) => now - new Date(work.requestedAt).getTime());
  if (waiting.length === 0) return false;
  return Math.min(...waiting) > LONG_WAIT_MS ? 30_000 : 2_000;
}
