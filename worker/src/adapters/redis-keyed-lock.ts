import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InProcessKeyedLock, type KeyedLock } from './keyed-lock.js';

export interface RedisKeyedLockOptions {
  /** What is locked, in the Redis key and in errors: `dns-zone` (the default) or `server`. */
  namespace?: string;
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
 * One holder per key across every worker process: a Redis key holding a random token, with a
 * TTL renewed while the work runs. Contenders inside one process queue in memory first, so only
 * one of them polls Redis.
 */
export class RedisKeyedLock implements KeyedLock {
  private readonly local = new InProcessKeyedLock();
  private readonly ttlMs: number;
  private readonly waitMs: number;
  private readonly pollMs: number;
  private readonly namespace: string;

  constructor(
    private readonly redis: Redis,
    options: RedisKeyedLockOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.waitMs = options.waitMs ?? 120_000;
    this.pollMs = options.pollMs ?? 25;
    this.namespace = options.namespace ?? 'dns-zone';
  }

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    return this.local.run(key, async () => {
      const redisKey = `parley:${this.namespace}-lock:${key}`;
      const token = randomBytes(16).toString('hex');
      await this.acquire(redisKey, token, key);
      const renew = setInterval(() => {
        this.redis.eval(EXTEND, 1, redisKey, token, String(this.ttlMs)).catch(() => undefined);
      }, Math.max(100, Math.floor(this.ttlMs / 3)));
      try {
        return await task();
      } finally {
        clearInterval(renew);
        await this.redis.eval(RELEASE, 1, redisKey, token).catch(() => undefined);
      }
    });
  }

  private async acquire(redisKey: string, token: string, key: string): Promise<void> {
    const deadline = Date.now() + this.waitMs;
    while ((await this.redis.set(redisKey, token, 'PX', this.ttlMs, 'NX')) !== 'OK') {
      if (Date.now() > deadline) throw new Error(`another worker has held the ${this.namespace} lock of ${key} for over ${this.waitMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }
}
