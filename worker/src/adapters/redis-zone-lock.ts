import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InProcessZoneLock, type ZoneLock } from './zone-lock.js';

export interface RedisZoneLockOptions {
  /** How long a lock outlives a holder that died without releasing it. */
  ttlMs?: number;
  /** How long to wait for a lock before giving up (the job then retries). */
  waitMs?: number;
  pollMs?: number;
}

// Delete or extend only a lock we still hold: after a pause longer than the TTL, another worker
// may own it.
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * One change in flight per zone across every worker process: a Redis key per zone holding a
 * random token, with a TTL renewed while the change runs. Contenders inside one process queue
 * in memory first, so only one of them polls Redis.
 */
export class RedisZoneLock implements ZoneLock {
  private readonly local = new InProcessZoneLock();
  private readonly ttlMs: number;
  private readonly waitMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly redis: Redis,
    options: RedisZoneLockOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.waitMs = options.waitMs ?? 120_000;
    this.pollMs = options.pollMs ?? 25;
  }

  run<T>(zone: string, task: () => Promise<T>): Promise<T> {
    return this.local.run(zone, async () => {
      const key = `parley:dns-zone-lock:${zone}`;
      const token = randomBytes(16).toString('hex');
      await this.acquire(key, token, zone);
      const renew = setInterval(() => {
        this.redis.eval(EXTEND, 1, key, token, String(this.ttlMs)).catch(() => undefined);
      }, Math.max(100, Math.floor(this.ttlMs / 3)));
      try {
        return await task();
      } finally {
        clearInterval(renew);
        await this.redis.eval(RELEASE, 1, key, token).catch(() => undefined);
      }
    });
  }

  private async acquire(key: string, token: string, zone: string): Promise<void> {
    const deadline = Date.now() + this.waitMs;
    while ((await this.redis.set(key, token, 'PX', this.ttlMs, 'NX')) !== 'OK') {
      if (Date.now() > deadline) throw new Error(`another worker has held the DNS lock of ${zone} for over ${this.waitMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }
}
