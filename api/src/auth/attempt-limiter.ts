import type { Redis } from 'ioredis';
import type { RateLimit } from '../config.js';
import { HttpProblem } from '../http/problem.js';
import { sha256 } from './credentials.js';

// One atomic step: count the attempt, start the window on the first one, report the window's
// remaining time. Atomic so parallel attempts cannot slip past the limit between read and write.
const HIT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
`;
// Only decrements a live counter: a DECR on an expired key would create one that never expires.
const REFUND = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return count
`;

/** What a limit counts, in words for the 429 detail ("failed log-ins for this email"). */
export interface LimitedSubject {
  limit: RateLimit;
  /** e.g. "login-email"; part of the Redis key. */
  scope: string;
  /** The email or IP; hashed into the key so Redis holds no addresses. */
  subject: string;
  description: string;
}

/**
 * Fixed-window attempt counters in Redis, shared by every API instance. Counting happens before
 * the guarded work, so once a subject is over its limit even a correct password is refused until
 * the window ends. Redis errors propagate: the error handler answers 503, so a Redis outage
 * closes log-in instead of opening it to unlimited guessing.
 */
export class AttemptLimiter {
  constructor(private readonly redis: Redis) {}

  /** Counts one attempt against every subject; throws 429 if any of them is over its limit. */
  async hit(subjects: LimitedSubject[]): Promise<void> {
    let blocked: { subject: LimitedSubject; retryAfterSeconds: number } | undefined;
    for (const subject of subjects) {
      const [count, ttlMs] = (await this.redis.eval(HIT, 1, keyOf(subject), subject.limit.windowSeconds * 1000)) as [number, number];
      if (count > subject.limit.max) {
        const retryAfterSeconds = Math.max(1, Math.ceil((ttlMs > 0 ? ttlMs : subject.limit.windowSeconds * 1000) / 1000));
        if (!blocked || retryAfterSeconds > blocked.retryAfterSeconds) blocked = { subject, retryAfterSeconds };
      }
    }
    if (blocked) throw tooManyAttempts(blocked.subject, blocked.retryAfterSeconds);
  }

  /** Takes back an attempt that turned out fine (a successful log-in is not a failure). */
  async refund(subjects: LimitedSubject[]): Promise<void> {
    for (const subject of subjects) await this.redis.eval(REFUND, 1, keyOf(subject));
  }
}

function keyOf(subject: LimitedSubject): string {
  return `parley:ratelimit:${subject.scope}:${sha256(subject.subject)}`;
}

function tooManyAttempts(subject: LimitedSubject, retryAfterSeconds: number): HttpProblem {
  const at = new Date(Date.now() + retryAfterSeconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  return new HttpProblem(
    429,
    'Too many attempts',
    `Too many ${subject.description} (at most ${subject.limit.max} in ${describeDuration(subject.limit.windowSeconds)}). Try again in ${describeDuration(retryAfterSeconds)}, after ${at}.`,
    { retryAfter: retryAfterSeconds },
    { 'retry-after': String(retryAfterSeconds) },
  );
}

/** "90 seconds", "15 minutes", "3 hours": for details people read. */
export function describeDuration(seconds: number): string {
  if (seconds < 120) return `${seconds} seconds`;
  if (seconds < 7200) return `${Math.ceil(seconds / 60)} minutes`;
  return `${Math.ceil(seconds / 3600)} hours`;
}
