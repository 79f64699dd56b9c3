import { describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../api/src/config.js';
import { unreachableDependency } from '../../api/src/http/dependency-errors.js';
import { ConfigError } from '../../worker/src/contracts/env-fields.js';

const env = {
  DATABASE_URL: 'postgresql://parley:pw@127.0.0.1:5432/parley',
  REDIS_URL: 'redis://127.0.0.1:6379',
  PLATFORM_ZONE: 'parley.test',
  SECRETS_KEYRING: `1:${Buffer.alloc(32, 7).toString('base64')}`,
};

describe('API configuration of authentication', () => {
  it('defaults to 14-day sessions, 5 failed log-ins per email in 15 minutes, and no trusted proxy', () => {
    const config = loadApiConfig(env);
    expect(config.sessionTtlHours).toBe(336);
    expect(config.trustProxy).toBe(false);
    expect(config.rateLimits.loginFailuresPerEmailAndAddress).toEqual({ max: 5, windowSeconds: 900 });
    expect(config.rateLimits.signupsPerIp).toEqual({ max: 20, windowSeconds: 3600 });
  });

  it('reads the overrides', () => {
    const config = loadApiConfig({ ...env, SESSION_TTL_HOURS: '24', TRUST_PROXY: '10.0.0.0/8, 127.0.0.1', LOGIN_LOCKOUT_MINUTES: '30' });
    expect(config).toMatchObject({ sessionTtlHours: 24, trustProxy: '10.0.0.0/8, 127.0.0.1' });
    expect(config.rateLimits.loginFailuresPerIp.windowSeconds).toBe(1800);
  });

  it.each([
    ['SESSION_TTL_HOURS', '0', 'at least 1 hours'],
    ['SESSION_TTL_HOURS', '9000', 'at most 8760'],
    ['TRUST_PROXY', 'everyone', 'IP addresses or CIDR ranges'],
    ['LOGIN_MAX_FAILURES_PER_EMAIL_AND_ADDRESS', 'five', 'whole number of attempts'],
  ])('refuses a bad %s and names it', (name, value, hint) => {
    let problems: string[] = [];
    try {
      loadApiConfig({ ...env, [name]: value });
    } catch (error) {
      if (error instanceof ConfigError) problems = error.problems;
    }
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`${name}: `);
    expect(problems[0]).toContain(hint);
  });
});

describe('which dependency an error says is down', () => {
  const named = (name: string, message: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { name }, extra);

  it.each([
    ['Prisma cannot reach the server', named('PrismaClientKnownRequestError', "Can't reach database server", { code: 'P1001' }), 'database'],
    ['the pool is exhausted', named('PrismaClientKnownRequestError', 'Timed out fetching a new connection', { code: 'P2024' }), 'database'],
    ['Prisma cannot start', named('PrismaClientInitializationError', 'no server'), 'database'],
    ['the driver lost the connection', new Error('wrapped', { cause: named('DriverAdapterError', 'reset', { code: 'ECONNRESET' }) }), 'database'],
    ['Redis is disconnected', new Error("Stream isn't writeable and enableOfflineQueue options is false"), 'redis'],
    ['Redis retries ran out', named('MaxRetriesPerRequestError', 'Reached the max retries per request limit (which is 1).'), 'redis'],
    ['a unique violation', named('PrismaClientKnownRequestError', 'Unique constraint failed', { code: 'P2002' }), null],
    ['a plain bug', new TypeError('x is undefined'), null],
  ])('%s', (_case, error, expected) => {
    expect(unreachableDependency(error)).toBe(expected);
  });
});
