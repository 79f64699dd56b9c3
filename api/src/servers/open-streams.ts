import { HttpProblem } from '../http/problem.js';

export interface StreamCaps {
  perAccount: number;
  total: number;
}

const RETRY_AFTER_SECONDS = 10;

/**
 * The live streams this API process holds open, capped per account and in all (each holds a
 * socket and wakes on its server's changes), and ended all at once when the API closes.
 */
export class OpenStreams {
  private readonly stops = new Set<() => void>();
  private readonly perAccount = new Map<string, number>();

  constructor(private readonly caps: StreamCaps) {}

  /** How many are open now. */
  get size(): number {
    return this.stops.size;
  }

  /** Counts a stream in, or answers 429; the returned function counts it out. */
  open(accountId: string, stop: () => void): () => void {
    const mine = this.perAccount.get(accountId) ?? 0;
    if (mine >= this.caps.perAccount) {
      throw tooMany(`Your account has ${mine} live timelines open, the most it may. Close a browser tab that shows one, then try again.`);
    }
    if (this.stops.size >= this.caps.total) throw tooMany('Parley has as many live timelines open as it can hold right now. Try again shortly, or read GET .../events instead.');
    this.perAccount.set(accountId, mine + 1);
    this.stops.add(stop);
    return () => {
      if (!this.stops.delete(stop)) return;
      const left = (this.perAccount.get(accountId) ?? 1) - 1;
      if (left > 0) this.perAccount.set(accountId, left);
      else this.perAccount.delete(accountId);
    };
  }

  stopAll(): void {
    for (const stop of this.stops) stop();
  }
}

function tooMany(detail: string): HttpProblem {
  return new HttpProblem(429, 'Too many live timelines', detail, { retryAfter: RETRY_AFTER_SECONDS }, { 'retry-after': String(RETRY_AFTER_SECONDS) });
}
