import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/src/app.js';
import {
  GOOD_PASSWORD,
  sessionCookieOf,
  startApiHarness,
  uniqueEmail,
  withCookie,
  withToken,
  type ApiHarness,
} from '../support/api-harness.js';
import { snapshotDatabase } from '../support/api-db-snapshot.js';

interface Problem {
  title: string;
  status: number;
  detail: string;
  errors?: { in: string; field: string; message: string }[];
}
interface Authenticated {
  account: { id: string; email: string; role: string; plan: { code: string } };
  csrfToken: string | null;
  sessionExpiresAt: string | null;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
let harness: ApiHarness;

beforeAll(async () => {
  harness = await startApiHarness();
});

afterAll(async () => {
  await harness?.close();
});

const signUp = (payload: unknown) => harness.inject({ method: 'POST', url: '/api/v1/accounts', payload: payload as object });
const logIn = (email: string, password: string) => harness.inject({ method: 'POST', url: '/api/v1/sessions', payload: { email, password } });
const me = (headers: Record<string, string>) => harness.inject({ method: 'GET', url: '/api/v1/me', headers });

describe('POST /api/v1/accounts (sign up)', () => {
  it('creates the account on the personal plan, logs it in and stores only hashes', async () => {
    const email = uniqueEmail('Ada');
    const answer = await signUp({ email: `  ${email.toUpperCase()} `, password: GOOD_PASSWORD });
    expect(answer.statusCode).toBe(201);
    const body = answer.json<Authenticated>();
    expect(body.account).toMatchObject({ email: email.toLowerCase(), role: 'customer', plan: { code: 'personal' } });
    expect(body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const cookie = answer.cookies.find((c) => c.name === 'parley_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(cookie?.secure).toBeUndefined();
    const ttlHours = (cookie!.expires!.getTime() - Date.now()) / 3_600_000;
    expect(ttlHours).toBeGreaterThan(harness.config.sessionTtlHours - 1);
    expect(ttlHours).toBeLessThanOrEqual(harness.config.sessionTtlHours);

    const account = await harness.prisma.account.findUniqueOrThrow({ where: { email: email.toLowerCase() }, include: { sessions: true } });
    expect(account.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(account.sessions).toHaveLength(1);
    expect(account.sessions[0]?.tokenHash).toBe(sha256(cookie!.value));
    expect(account.sessions[0]?.csrfSecretHash).toBe(sha256(body.csrfToken!));
    expect(JSON.stringify(account)).not.toContain(cookie!.value);
    expect((await me({ cookie: `parley_session=${cookie!.value}` })).json<Authenticated>().account.id).toBe(account.id);
  });

  it('takes another active plan by code', async () => {
    const answer = await signUp({ email: uniqueEmail(), password: GOOD_PASSWORD, plan: 'team' });
    expect(answer.statusCode).toBe(201);
    const plan = await harness.prisma.plan.findUniqueOrThrow({ where: { code: 'team' } });
    expect(answer.json<Authenticated>().account.plan).toEqual({
      code: 'team',
      name: plan.name,
      maxServers: plan.maxServers,
      maxUsersPerServer: plan.maxUsersPerServer,
      storageMiB: plan.storageMiB,
    });
  });

  it.each([
    ['an unknown plan', { plan: 'galactic' }, 'plan', 'must be one of "personal", "team"'],
    ['a short password', { password: 'short pw' }, 'password', 'at least 12 characters'],
    ['a common password', { password: 'Password1234' }, 'password', 'most common passwords'],
    ['a repetitive password', { password: 'abababababababab' }, 'password', 'too few different characters'],
    ['a malformed email', { email: 'ada at example.com' }, 'email', 'must be an email address'],
    ['a missing email', { email: undefined }, 'email', 'is required'],
    ['an unknown field', { admin: true }, '', 'unknown field "admin"'],
  ])('refuses %s with a 400 naming the field and changes nothing', async (_case, override, field, message) => {
    const before = await snapshotDatabase(harness.prisma);
    const answer = await signUp({ email: uniqueEmail(), password: GOOD_PASSWORD, ...override });
    expect(answer.statusCode).toBe(400);
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = answer.json<Problem>();
    expect(problem.errors).toContainEqual({ in: 'body', field, message: expect.stringContaining(message) as string });
    expect(problem.detail).toContain(message);
    expect(await snapshotDatabase(harness.prisma)).toEqual(before);
  });

  it('answers 409 to an existing email in any case, pointing to log-in', async () => {
    const email = uniqueEmail();
    expect((await signUp({ email, password: GOOD_PASSWORD })).statusCode).toBe(201);
    const before = await snapshotDatabase(harness.prisma);
    const again = await signUp({ email: ` ${email.toUpperCase()}`, password: 'another long passphrase' });
    expect(again.statusCode).toBe(409);
    expect(again.json<Problem>().detail).toMatch(/already exists\. Log in instead \(POST \/api\/v1\/sessions\)/);
    expect(await snapshotDatabase(harness.prisma)).toEqual(before);
  });
});

describe('sessions', () => {
  it('logs in with the right password only, with one answer for a wrong email or password', async () => {
    const account = await harness.signUp();
    const wrongPassword = await logIn(account.email, 'not the password at all');
    const wrongEmail = await logIn(uniqueEmail('nobody'), account.password);
    expect(wrongPassword.statusCode).toBe(401);
    expect(wrongEmail.statusCode).toBe(401);
    expect(wrongEmail.json<Problem>().detail).toBe(wrongPassword.json<Problem>().detail);

    const answer = await logIn(account.email.toUpperCase(), account.password);
    expect(answer.statusCode).toBe(201);
    const body = answer.json<Authenticated>();
    expect(body.account.id).toBe(account.id);
    const mine = await me({ cookie: sessionCookieOf(answer) });
    expect(mine.json<Authenticated>().csrfToken).toBe(body.csrfToken);
    expect(mine.json<Authenticated>().sessionExpiresAt).toBe(body.sessionExpiresAt);
  });

  it('refuses a suspended account, and its existing cookie and tokens stop working', async () => {
    const account = await harness.signUp();
    await harness.prisma.account.update({ where: { id: account.id }, data: { disabledAt: new Date() } });
    const answer = await logIn(account.email, account.password);
    expect(answer.statusCode).toBe(403);
    expect(answer.json<Problem>().detail).toContain('suspended');
    expect((await me({ cookie: account.cookie })).statusCode).toBe(401);
    expect((await me(withToken(account))).statusCode).toBe(401);
  });

  it('log-out ends the session: the old cookie is refused afterwards', async () => {
    const account = await harness.signUp();
    const answer = await harness.inject({ method: 'DELETE', url: '/api/v1/sessions/current', headers: withCookie(account) });
    expect(answer.statusCode).toBe(204);
    const cleared = answer.cookies.find((c) => c.name === 'parley_session');
    expect(cleared?.value).toBe('');
    expect(cleared!.expires!.getTime()).toBeLessThan(Date.now());
    const after = await me({ cookie: account.cookie });
    expect(after.statusCode).toBe(401);
    expect(after.json<Problem>().detail).toContain('Log in first');
    expect(await harness.prisma.session.count({ where: { accountId: account.id } })).toBe(0);
    expect((await me(withToken(account))).statusCode).toBe(200);
  });

  it('log-out with an API token says there is no session and points to revoking the token', async () => {
    const account = await harness.signUp();
    const answer = await harness.inject({ method: 'DELETE', url: '/api/v1/sessions/current', headers: withToken(account) });
    expect(answer.statusCode).toBe(400);
    expect(answer.json<Problem>().detail).toContain('DELETE /api/v1/tokens/{id}');
  });

  it('an expired session is refused', async () => {
    const account = await harness.signUp();
    await harness.prisma.session.updateMany({ where: { accountId: account.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await me({ cookie: account.cookie })).statusCode).toBe(401);
  });

  it('marks the cookie Secure outside sandbox mode', async () => {
    const production = buildApp({ config: { ...harness.config, mode: 'production' } });
    try {
      const answer = await production.inject({ method: 'POST', url: '/api/v1/accounts', payload: { email: uniqueEmail(), password: GOOD_PASSWORD } });
      expect(answer.statusCode).toBe(201);
      expect(answer.cookies.find((c) => c.name === 'parley_session')).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Lax' });
    } finally {
      await production.close();
    }
  });
});

describe('GET /api/v1/me', () => {
  it('answers the account by cookie (with the CSRF token) or by API token (without)', async () => {
    const account = await harness.signUp();
    const byCookie = (await me({ cookie: account.cookie })).json<Authenticated>();
    expect(byCookie).toMatchObject({ account: { id: account.id, email: account.email }, csrfToken: account.csrfToken });
    const byToken = (await me(withToken(account))).json<Authenticated>();
    expect(byToken).toMatchObject({ account: { id: account.id }, csrfToken: null, sessionExpiresAt: null });
  });

  it('answers 401 with a WWW-Authenticate challenge when anonymous', async () => {
    const answer = await me({});
    expect(answer.statusCode).toBe(401);
    expect(answer.headers['www-authenticate']).toBe('Bearer realm="parley"');
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('POST /api/v1/me/password', () => {
  const change = (headers: Record<string, string>, payload: object) =>
    harness.inject({ method: 'POST', url: '/api/v1/me/password', headers, payload });

  it('needs the current password, naming the field it refuses, and a new acceptable one', async () => {
    const account = await harness.signUp();
    const wrong = await change(withCookie(account), { currentPassword: 'not my password!', newPassword: 'a brand new passphrase' });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json<Problem>().errors).toEqual([{ in: 'body', field: 'currentPassword', message: 'is not the password of this account' }]);
    const same = await change(withCookie(account), { currentPassword: account.password, newPassword: account.password });
    expect(same.statusCode).toBe(400);
    expect(same.json<Problem>().errors).toEqual([{ in: 'body', field: 'newPassword', message: 'must differ from the current password' }]);
    const weak = await change(withCookie(account), { currentPassword: account.password, newPassword: 'password1234' });
    expect(weak.json<Problem>().errors?.[0]?.field).toBe('newPassword');
  });

  it('changes it, keeps this session, ends every other session and revokes the API tokens', async () => {
    const account = await harness.signUp();
    const other = sessionCookieOf(await logIn(account.email, account.password));
    const newPassword = 'saffron kettle meridian';
    const answer = await change(withCookie(account), { currentPassword: account.password, newPassword });
    expect(answer.statusCode).toBe(204);

    expect((await me({ cookie: account.cookie })).statusCode).toBe(200);
    expect((await me({ cookie: other })).statusCode).toBe(401);
    expect((await me(withToken(account))).statusCode).toBe(401);
    expect((await logIn(account.email, account.password)).statusCode).toBe(401);
    expect((await logIn(account.email, newPassword)).statusCode).toBe(201);
    const audit = await harness.prisma.auditLog.findFirstOrThrow({ where: { actorId: account.id, action: 'account.password_change' } });
    expect(audit.detail).toEqual({ otherSessionsEnded: 1, tokensRevoked: 1 });
  });

  it('from an API token, ends every session and revokes every other token', async () => {
    const account = await harness.signUp();
    const second = await harness.inject({ method: 'POST', url: '/api/v1/tokens', headers: withToken(account), payload: { name: 'second' } });
    const secondToken = second.json<{ secret: string }>().secret;
    const answer = await change(withToken(account), { currentPassword: account.password, newPassword: 'another fine passphrase' });
    expect(answer.statusCode).toBe(204);
    expect(await harness.prisma.session.count({ where: { accountId: account.id } })).toBe(0);
    expect((await me(withToken(account))).statusCode).toBe(200);
    expect((await me({ authorization: `Bearer ${secondToken}` })).statusCode).toBe(401);
  });
});
