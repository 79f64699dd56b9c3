/**
 * Serialises changes per zone: a read-merge-write of one change must not interleave with another
 * to the same zone, or one of them would overwrite the other's values (and PowerDNS on sqlite
 * answers HTTP 500, Route 53 `PriorRequestNotComplete`). Different zones proceed in parallel.
 */
export interface ZoneLock {
  run<T>(zone: string, task: () => Promise<T>): Promise<T>;
}

/** Serialises within one process; `RedisZoneLock` adds the lock between worker processes. */
export class InProcessZoneLock implements ZoneLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(zone: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(zone) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => done);
    this.tails.set(zone, tail);
    await previous;
    try {
      return await task();
    } finally {
      release();
      // The map only holds zones with work queued, so it does not grow with every zone ever seen.
      if (this.tails.get(zone) === tail) this.tails.delete(zone);
    }
  }
}
