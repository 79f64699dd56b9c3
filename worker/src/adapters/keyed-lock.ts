/**
 * Serialises work per key; different keys proceed in parallel. Per DNS zone: a read-merge-write
 * of one change must not interleave with another to the same zone, or one would overwrite the
 * other's values (and PowerDNS on sqlite answers HTTP 500, Route 53 `PriorRequestNotComplete`).
 * Per server: two container operations at once (a repair's start and a customer's start) can
 * leave the engine's port forwarding torn down under a running container.
 */
export interface KeyedLock {
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
}

/** Serialises within one process; `RedisKeyedLock` adds the lock between worker processes. */
export class InProcessKeyedLock implements KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => done);
    this.tails.set(key, tail);
    await previous;
    try {
      return await task();
    } finally {
      release();
      // The map only holds keys with work queued, so it does not grow with every key ever seen.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
