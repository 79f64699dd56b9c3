import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from '../../prisma/generated/client/client.js';
import { buildApp } from '../../api/src/app.js';
import { freePort } from '../support/redis-server.js';
import { GOOD_PASSWORD, startApiHarness, uniqueEmail, withCookie, withToken, type ApiHarness } from '../support/api-harness.js';
import { snapshotDatabase } from '../support/api-db-snapshot.js';

interface Problem {
  title: string;
  detail: string;
  retryAfter?: number;
  dependency?: string;
}

const LOGIN_MAX = 5;
let harness: ApiHarness;

beforeAll(async () => {
  harness = await startApiHarness({
    config: (base) => ({
      ...base,
      rateLimits: {
        ...base.rateLimits,
        loginFailuresPerEmailAndAddress: { max: LOGIN_MAX, windowSeconds: 900 },
        loginFailuresPerIp: { max: 8, windowSeconds: 900 },
        signupsPerIp: { max: 3, windowSeconds: 3600 },
        signupsPerEmail: { max: 5, windowSeconds: 3600 },
        domainVerificationsPerAccount: { max: 3, windowSeconds: 3600 },
      },
    }),
  });
});

afterAll(async () => {
  await harness?.close();
});

// Each test gets its own client address, so per-IP limits of one test never leak into another.
let nextAddress = 10;
const newAddress = () => `198.51.100.${nextAddress++}`;

const logIn = (email: string, password: string, remoteAddress: string) =>
  harness.inject({ method: 'POST', url: '/api/v1/sessions', payload: { email, password }, remoteAddress });
const createToken = (headers: Record<string, string>) =>
  harness.inject({ method: 'POST', url: '/api/v1/tokens', headers, payload: { name: 'ci' } });

describe('CSRF protection of cookie-authenticated writes', () => {
  it('refuses a write without X-CSRF-Token with a 403 that names the header, and changes nothing', async () => {
    const account = await harness.signUp();
    const before = await snapshotDatabase(harness.prisma);
    const answer = await createToken({ cookie: account.cookie });
    expect(answer.statusCode).toBe(403);
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = answer.json<Problem>();
    expect(problem.title).toBe('CSRF token missing');
    expect(problem.detail).toContain('x-csrf-token header');
    expect(problem.detail).toContain('GET /api/v1/me');
    expect(await snapshotDatabase(harness.prisma)).toEqual(before);
  });

  it('refuses a wrong token or one from another session', async () => {
    const [account, other] = [await harness.signUp(), await harness.signUp()];
    expect((await createToken({ cookie: account.cookie, 'x-csrf-token': 'forged' })).json<Problem>().title).toBe('CSRF token wrong');
    expect((await createToken({ cookie: account.cookie, 'x-csrf-token': other.csrfToken })).statusCode).toBe(403);
  });

  it('checks before the body: an invalid body without the header is still a 403', async () => {
    const account = await harness.signUp();
    const answer = await harness.inject({ method: 'POST', url: '/api/v1/tokens', headers: { cookie: account.cookie }, payload: { nope: 1 } });
    expect(answer.statusCode).toBe(403);
  });

  it('refuses a cross-site Origin even with the right token, and accepts the same origin', async () => {
    const account = await harness.signUp();
    const crossSite = await createToken({ ...withCookie(account), origin: 'https://evil.example' });
    expect(crossSite.statusCode).toBe(403);
    expect(crossSite.json<Problem>().title).toBe('Cross-site request refused');
    expect((await createToken({ ...withCookie(account), origin: 'http://localhost:80' })).statusCode).toBe(201);
  });

  it('needs nothing for reads, nor for writes with an API token', async () => {
    const account = await harness.signUp();
    expect((await harness.inject({ method: 'GET', url: '/api/v1/tokens', headers: { cookie: account.cookie } })).statusCode).toBe(200);
    expect((await createToken(withToken(account))).statusCode).toBe(201);
    expect((await createToken(withCookie(account))).statusCode).toBe(201);
  });
});

describe('API token authentication', () => {
  const me = (authorization: string) => harness.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization } });

  it('refuses a malformed Authorization header instead of treating the request as anonymous', async () => {
    for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer prl_short', 'Bearer abc.def.ghi']) {
      const answer = await me(header);
      expect(answer.statusCode, header).toBe(401);
      expect(answer.json<Problem>().detail).toContain('Bearer prl_');
      expect(answer.headers['www-authenticate']).toContain('invalid_token');
    }
    // Even on a public route.
    const signUp = await harness.inject({ method: 'POST', url: '/api/v1/accounts', headers: { authorization: 'Bearer nope' }, payload: {} });
    expect(signUp.statusCode).toBe(401);
  });

  it('refuses unknown, revoked and expired tokens', async () => {
    const account = await harness.signUp();
    expect((await me(`Bearer prl_${'A'.repeat(43)}`)).statusCode).toBe(401);

    const revoke = await harness.inject({ method: 'DELETE', url: `/api/v1/tokens/${account.tokenId}`, headers: withCookie(account) });
    expect(revoke.statusCode).toBe(204);
    const revoked = await me(`Bearer ${account.token}`);
    expect(revoked.statusCode).toBe(401);
    expect(revoked.json<Problem>().detail).toContain('unknown, expired or revoked');

    const other = await harness.signUp();
    await harness.prisma.apiToken.update({ where: { id: other.tokenId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await me(`Bearer ${other.token}`)).statusCode).toBe(401);
  });

  it('records when a token was last used', async () => {
    const account = await harness.signUp();
    expect((await harness.prisma.apiToken.findUniqueOrThrow({ where: { id: account.tokenId } })).lastUsedAt).toBeNull();
    expect((await me(`Bearer ${account.token}`)).statusCode).toBe(200);
    const used = await harness.prisma.apiToken.findUniqueOrThrow({ where: { id: account.tokenId } });
    expect(Date.now() - used.lastUsedAt!.getTime()).toBeLessThan(10_000);
  });

  it('treats an expired session cookie as no session, and records when a live one was last seen', async () => {
    const account = await harness.signUp();
    const cookieMe = () => harness.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: account.cookie } });
    const session = await harness.prisma.session.findFirstOrThrow({ where: { accountId: account.id } });
    await harness.prisma.session.update({ where: { id: session.id }, data: { lastSeenAt: null } });
    expect((await cookieMe()).statusCode).toBe(200);
    const seen = await harness.prisma.session.findUniqueOrThrow({ where: { id: session.id } });
    expect(Date.now() - seen.lastSeenAt!.getTime()).toBeLessThan(10_000);

    await harness.prisma.session.update({ where: { id: session.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await cookieMe()).statusCode).toBe(401);
  });
});

describe('log-in throttling', () => {
  it(`answers 429 after ${LOGIN_MAX} failures for an email from one address, even to the right password, with Retry-After`, async () => {
    const account = await harness.signUp();
    const address = newAddress();
    for (let attempt = 1; attempt <= LOGIN_MAX; attempt++) {
      expect((await logIn(account.email, `wrong password ${attempt}`, address)).statusCode, `attempt ${attempt}`).toBe(401);
    }
    const throttled = await logIn(account.email, account.password, address);
    expect(throttled.statusCode).toBe(429);
    const retryAfter = Number(throttled.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(800);
    expect(retryAfter).toBeLessThanOrEqual(900);
    const problem = throttled.json<Problem>();
    expect(problem.retryAfter).toBe(retryAfter);
    expect(problem.detail).toMatch(/^Too many failed log-ins for this email from your address \(at most 5 in 15 minutes\)\. Try again in 15 minutes, after \d{4}-\d\d-\d\dT/);
    expect(await harness.prisma.session.count({ where: { accountId: account.id } })).toBe(1);

    // The stranger's failures lock nobody else out: the owner, from their own address, logs in.
    expect((await logIn(account.email, account.password, newAddress())).statusCode).toBe(201);

    // Another email from the same address is not affected.
    const other = await harness.signUp();
    expect((await logIn(other.email, other.password, address)).statusCode).toBe(201);
  });

  it('does not count successful log-ins', async () => {
    const account = await harness.signUp();
    const address = newAddress();
    for (let round = 0; round < 3; round++) {
      expect((await logIn(account.email, 'wrong password here', address)).statusCode).toBe(401);
      expect((await logIn(account.email, account.password, address)).statusCode).toBe(201);
    }
    // 4 failures so far: had the 3 successes counted, this would be over the limit of 5.
    expect((await logIn(account.email, 'still wrong!!', address)).statusCode).toBe(401);
    expect((await logIn(account.email, account.password, address)).statusCode).toBe(201);
  });

  it('throttles one address guessing across many emails', async () => {
    const address = newAddress();
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 9; attempt++) statuses.push((await logIn(uniqueEmail('guess'), 'some password', address)).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 401, 401, 429]);
  });

  it('holds under a burst of parallel guesses', async () => {
    const account = await harness.signUp();
    const address = newAddress();
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => logIn(account.email, `parallel guess ${i}`, address)));
    expect(answers.filter((a) => a.statusCode === 401)).toHaveLength(LOGIN_MAX);
    expect(answers.filter((a) => a.statusCode === 429)).toHaveLength(12 - LOGIN_MAX);
  });

  it('also guards the current-password check of a password change', async () => {
    const account = await harness.signUp();
    const change = () =>
      harness.inject({
        method: 'POST',
        url: '/api/v1/me/password',
        headers: withToken(account),
        payload: { currentPassword: 'a wrong guess!', newPassword: 'whatever new passphrase' },
        remoteAddress: newAddress(),
      });
    for (let attempt = 0; attempt < LOGIN_MAX; attempt++) expect((await change()).statusCode).toBe(403);
    expect((await change()).statusCode).toBe(429);
  });
});

describe('sign-up throttling', () => {
  it('limits sign-ups per address', async () => {
    const address = newAddress();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(
        (await harness.inject({ method: 'POST', url: '/api/v1/accounts', payload: { email: uniqueEmail(), password: GOOD_PASSWORD }, remoteAddress: address }))
          .statusCode,
      );
    }
    expect(statuses).toEqual([201, 201, 201, 429]);
  });
});

describe('domain verification throttling', () => {
  it('lets an account verify a few times an hour, then answers 429 with Retry-After before any lookup', async () => {
    const account = await harness.signUp();
    const added = await harness.inject({ method: 'POST', url: '/api/v1/domains', headers: withToken(account), payload: { name: `v${Date.now()}.example.org` } });
    expect(added.statusCode).toBe(201);
    const id = added.json<{ id: string }>().id;
    const verify = () => harness.inject({ method: 'POST', url: `/api/v1/domains/${id}/verify`, headers: withToken(account) });
    for (let attempt = 0; attempt < 3; attempt++) expect((await verify()).statusCode).toBe(200);
    const checkedAt = (await harness.prisma.domain.findUniqueOrThrow({ where: { id } })).lastCheckedAt;
    const refused = await verify();
    expect(refused.statusCode).toBe(429);
    expect(refused.json<Problem>().detail).toContain('domain verifications for your account');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await harness.prisma.domain.findUniqueOrThrow({ where: { id } })).lastCheckedAt).toEqual(checkedAt);
    // Another account has its own allowance.
    const other = await harness.signUp();
    const theirs = await harness.inject({ method: 'POST', url: '/api/v1/domains', headers: withToken(other), payload: { name: `w${Date.now()}.example.org` } });
    expect((await harness.inject({ method: 'POST', url: `/api/v1/domains/${theirs.json<{ id: string }>().id}/verify`, headers: withToken(other) })).statusCode).toBe(200);
  });
});

describe('dependencies down', () => {
  it('answers 503 naming Redis for log-in and sign-up while Redis is stopped, and recovers', async () => {
    const account = await harness.signUp();
    await harness.redis.pause();
    try {
      const before = await snapshotDatabase(harness.prisma);
      const login = await logIn(account.email, account.password, newAddress());
      expect(login.statusCode).toBe(503);
      expect(login.headers['retry-after']).toBeDefined();
      expect(login.json<Problem>()).toMatchObject({ dependency: 'redis', detail: expect.stringContaining('Redis is unreachable') as string });
      const signUp = await harness.inject({ method: 'POST', url: '/api/v1/accounts', payload: { email: uniqueEmail(), password: GOOD_PASSWORD } });
      expect(signUp.statusCode).toBe(503);
      expect(await snapshotDatabase(harness.prisma)).toEqual(before);
      // What does not need Redis keeps working.
      expect((await harness.inject({ method: 'GET', url: '/api/v1/me', headers: withToken(account) })).statusCode).toBe(200);
    } finally {
      await harness.redis.resume();
    }
    let status = 0;
    for (let attempt = 0; attempt < 100 && status !== 201; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 100));
      status = (await logIn(account.email, account.password, newAddress())).statusCode;
    }
    expect(status).toBe(201);
  });

  it('answers 503 naming the database while PostgreSQL is unreachable', async () => {
    const account = await harness.signUp();
    const url = new URL(harness.config.databaseUrl);
    url.port = String(await freePort());
    const app = buildApp({ config: { ...harness.config, databaseUrl: url.toString() } });
    try {
      for (const request of [
        { method: 'GET', url: '/api/v1/me', headers: withToken(account) },
        { method: 'POST', url: '/api/v1/sessions', payload: { email: account.email, password: account.password } },
      ] as const) {
        const answer = await app.inject(request);
        expect(answer.statusCode, `${request.method} ${request.url}`).toBe(503);
        const problem = answer.json<Problem>();
        expect(problem.dependency).toBe('database');
        expect(problem.detail).toContain('The database (PostgreSQL) is unreachable');
        expect(answer.body).not.toContain('127.0.0.1');
      }
    } finally {
      await app.close();
    }
  });

  it('answers 503 when every database connection is taken, instead of queueing the request, and recovers', async () => {
    const account = await harness.signUp();
    const app = buildApp({ config: { ...harness.config, databaseConnectTimeoutMs: 2_000 } });
    try {
      await app.ready();
      // node-postgres' pool holds 10 connections: ten slow statements take them all.
      const held = Promise.all(Array.from({ length: 10 }, () => app.sql.rows(Prisma.sql`SELECT pg_sleep(6)`)));
      await new Promise((r) => setTimeout(r, 2_500));
      const busy = await app.inject({ method: 'GET', url: '/api/v1/me', headers: withToken(account) });
      expect(busy.statusCode).toBe(503);
      expect(busy.json<Problem>().dependency).toBe('database');
      await held;
      expect((await app.inject({ method: 'GET', url: '/api/v1/me', headers: withToken(account) })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
