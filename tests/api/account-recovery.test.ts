import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base32Decode, timeStep, totpCode } from '../../api/src/auth/totp.js';
import { sessionCookieOf, startApiHarness, uniqueEmail, withCookie, withToken, type ApiHarness, type TestAccount } from '../support/api-harness.js';
import { linkIn } from '../support/test-mailbox.js';

interface Problem {
  title: string;
  status: number;
  detail: string;
  errors?: { field: string; message: string }[];
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const NEW_PASSWORD = 'amber kettle meadow signal';
let harness: ApiHarness;

beforeAll(async () => {
  harness = await startApiHarness();
});

afterAll(async () => {
  await harness?.close();
});

const post = (url: string, payload: object, options: { headers?: Record<string, string>; remoteAddress?: string } = {}) =>
  harness.inject({ method: 'POST', url: `/api/v1${url}`, payload, ...options });
const me = (headers: Record<string, string>) => harness.inject({ method: 'GET', url: '/api/v1/me', headers });
const logIn = (email: string, password: string) => post('/sessions', { email, password });
const codeAt = (secret: string, step: number) => totpCode(base32Decode(secret), step);

describe('email verification', () => {
  it('mails a link at sign-up through SMTP; the token verifies the account once, and is stored only hashed', async () => {
    const account = await harness.signUp();
    const mail = await harness.mailbox.waitFor(account.email, /Confirm your email/);
    const { link, token } = linkIn(mail, 'verify-email');
    expect(link.startsWith(`${harness.config.mail.publicBaseUrl}/verify-email#token=`)).toBe(true);
    expect((await me(withToken(account))).json<{ account: { emailVerified: boolean } }>().account.emailVerified).toBe(false);

    const rows = await harness.prisma.accountToken.findMany({ where: { accountId: account.id, purpose: 'email_verification' } });
    expect(rows.map((row) => row.tokenHash)).toEqual([sha256(token)]);

    expect((await post('/me/email/verify', { token })).statusCode).toBe(204);
    expect((await me(withToken(account))).json<{ account: { emailVerified: boolean } }>().account.emailVerified).toBe(true);
    const again = await post('/me/email/verify', { token });
    expect(again.statusCode).toBe(400);
    expect(again.json<Problem>().title).toBe('Link not valid');
    expect((await post('/me/email/verification-mail', {}, { headers: withToken(account) })).statusCode).toBe(409);
  });

  it('refuses an expired link, and limits the mails an account can ask for', async () => {
    const account = await harness.signUp();
    const { token } = linkIn(await harness.mailbox.waitFor(account.email, /Confirm your email/), 'verify-email');
    await harness.prisma.accountToken.updateMany({ where: { tokenHash: sha256(token) }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await post('/me/email/verify', { token })).statusCode).toBe(400);

    const { max } = harness.config.rateLimits.verificationMailsPerAccount;
    for (let i = 0; i < max; i++) expect((await post('/me/email/verification-mail', {}, { headers: withToken(account) })).statusCode).toBe(202);
    const mail = await harness.mailbox.waitFor(account.email, /Confirm your email/, max + 1);
    expect((await post('/me/email/verification-mail', {}, { headers: withToken(account) })).statusCode).toBe(429);
    const fresh = linkIn(mail, 'verify-email').token;
    expect((await post('/me/email/verify', { token: fresh })).statusCode).toBe(204);
  });
});

describe('password reset', () => {
  it('answers the same for an unknown email, and mails nothing', async () => {
    const account = await harness.signUp();
    const stranger = uniqueEmail('nobody');
    const known = await post('/password-reset', { email: account.email }, { remoteAddress: '10.9.0.1' });
    const unknown = await post('/password-reset', { email: stranger }, { remoteAddress: '10.9.0.1' });
    expect([known.statusCode, unknown.statusCode]).toEqual([202, 202]);
    expect(unknown.body).toBe(known.body);
    await harness.mailbox.waitFor(account.email, /Reset your Parley password/);
    expect(harness.mailbox.to(stranger)).toEqual([]);
  });

  it('sets the password with the mailed token once, and ends every session and API token', async () => {
    const account = await harness.signUp();
    const other = await logIn(account.email, account.password);
    const otherSession = { cookie: sessionCookieOf(other) };
    expect((await post('/password-reset', { email: account.email }, { remoteAddress: '10.9.0.2' })).statusCode).toBe(202);
    const { token } = linkIn(await harness.mailbox.waitFor(account.email, /Reset your Parley password/), 'reset-password');

    const weak = await post('/password-reset/confirm', { token, newPassword: 'short' });
    expect(weak.statusCode).toBe(400);
    expect((await post('/password-reset/confirm', { token, newPassword: NEW_PASSWORD })).statusCode).toBe(204);

    expect((await me(withCookie(account))).statusCode).toBe(401);
    expect((await me(otherSession)).statusCode).toBe(401);
    expect((await me(withToken(account))).statusCode).toBe(401);
    expect((await logIn(account.email, account.password)).statusCode).toBe(401);
    expect((await logIn(account.email, NEW_PASSWORD)).statusCode).toBe(201);

    const reused = await post('/password-reset/confirm', { token, newPassword: 'another fine long password' });
    expect(reused.statusCode).toBe(400);
    expect(reused.json<Problem>().errors?.[0]?.field).toBe('token');
    const audit = await harness.prisma.auditLog.findFirstOrThrow({ where: { action: 'account.password_reset', targetId: account.id } });
    expect(audit.detail).toMatchObject({ otherSessionsEnded: 2, tokensRevoked: 1 });
    const row = await harness.prisma.account.findUniqueOrThrow({ where: { id: account.id } });
    expect(row.emailVerifiedAt).not.toBeNull();
  });

  it('refuses an expired token and changes nothing', async () => {
    const account = await harness.signUp();
    await post('/password-reset', { email: account.email }, { remoteAddress: '10.9.0.3' });
    const { token } = linkIn(await harness.mailbox.waitFor(account.email, /Reset your Parley password/), 'reset-password');
    await harness.prisma.accountToken.updateMany({ where: { tokenHash: sha256(token) }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await post('/password-reset/confirm', { token, newPassword: NEW_PASSWORD })).statusCode).toBe(400);
    expect((await me(withToken(account))).statusCode).toBe(200);
    expect((await logIn(account.email, account.password)).statusCode).toBe(201);
  });

  it('limits requests per email from any address, and per address', async () => {
    const account = await harness.signUp();
    const perEmail = harness.config.rateLimits.passwordResetsPerEmail.max;
    for (let i = 0; i < perEmail; i++) {
      expect((await post('/password-reset', { email: account.email }, { remoteAddress: `10.9.1.${i}` })).statusCode).toBe(202);
    }
    const limited = await post('/password-reset', { email: account.email }, { remoteAddress: '10.9.1.200' });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();

    const perIp = harness.config.rateLimits.passwordResetsPerIp.max;
    for (let i = 0; i < perIp; i++) await post('/password-reset', { email: uniqueEmail('spray') }, { remoteAddress: '10.9.2.1' });
    expect((await post('/password-reset', { email: uniqueEmail('spray') }, { remoteAddress: '10.9.2.1' })).statusCode).toBe(429);
  });
});

describe('two-factor log-in (TOTP)', () => {
  async function enrol(account: TestAccount): Promise<{ secret: string; step: number; recoveryCodes: string[] }> {
    const wrongPassword = await post('/me/two-factor/enrolment', { password: 'not the password at all' }, { headers: withCookie(account) });
    expect(wrongPassword.statusCode).toBe(403);
    const started = await post('/me/two-factor/enrolment', { password: account.password }, { headers: withCookie(account) });
    expect(started.statusCode).toBe(201);
    const { secret, otpauthUri } = started.json<{ secret: string; otpauthUri: string }>();
    expect(otpauthUri).toContain(`secret=${secret}`);
    const wrong = await post('/me/two-factor/enrolment/confirm', { code: codeAt(secret, timeStep(new Date()) + 5) }, { headers: withCookie(account) });
    expect(wrong.statusCode).toBe(403);
    const step = timeStep(new Date());
    const confirmed = await post('/me/two-factor/enrolment/confirm', { code: codeAt(secret, step) }, { headers: withCookie(account) });
    expect(confirmed.statusCode).toBe(200);
    return { secret, step, ...confirmed.json<{ recoveryCodes: string[] }>() };
  }

  async function challengeFor(account: TestAccount): Promise<string> {
    const answer = await logIn(account.email, account.password);
    expect(answer.statusCode).toBe(202);
    expect(answer.cookies.find((c) => c.name === 'parley_session')).toBeUndefined();
    return answer.json<{ challenge: string }>().challenge;
  }

  it('asks for a code after the password; a code is accepted once, a recovery code once', async () => {
    const account = await harness.signUp();
    const { secret, step, recoveryCodes } = await enrol(account);
    expect(recoveryCodes).toHaveLength(10);

    const row = await harness.prisma.account.findUniqueOrThrow({ where: { id: account.id }, include: { totpSecret: true, recoveryCodes: true } });
    expect(row.totpSecret?.purpose).toBe('totp_secret');
    expect(Buffer.from(row.totpSecret!.ciphertext).toString('latin1')).not.toContain(secret);
    expect(row.recoveryCodes.map((c) => c.codeHash).sort()).toEqual(recoveryCodes.map(sha256).sort());
    expect((await me(withToken(account))).json<{ account: { twoFactorEnabled: boolean } }>().account.twoFactorEnabled).toBe(true);

    const challenge = await challengeFor(account);
    const replayed = await post('/sessions/two-factor', { challenge, code: codeAt(secret, step) });
    expect(replayed.statusCode).toBe(403);
    const finished = await post('/sessions/two-factor', { challenge, code: codeAt(secret, step + 1) });
    expect(finished.statusCode).toBe(201);
    expect((await me({ cookie: sessionCookieOf(finished) })).statusCode).toBe(200);
    expect((await post('/sessions/two-factor', { challenge, code: recoveryCodes[0]! })).statusCode).toBe(401);

    const second = await challengeFor(account);
    const recovered = await post('/sessions/two-factor', { challenge: second, code: recoveryCodes[0]!.toLowerCase() });
    expect(recovered.statusCode).toBe(201);
    const third = await challengeFor(account);
    expect((await post('/sessions/two-factor', { challenge: third, code: recoveryCodes[0]! })).statusCode).toBe(403);

    const off = await post('/me/two-factor/disable', { password: account.password, code: recoveryCodes[1]! }, { headers: withCookie(account) });
    expect(off.statusCode).toBe(204);
    expect((await logIn(account.email, account.password)).statusCode).toBe(201);
    expect(await harness.prisma.recoveryCode.count({ where: { accountId: account.id } })).toBe(0);
  });

  it('stays on through a password reset: the mail alone never logs in', async () => {
    const account = await harness.signUp();
    await enrol(account);
    await post('/password-reset', { email: account.email }, { remoteAddress: '10.9.3.1' });
    const { token } = linkIn(await harness.mailbox.waitFor(account.email, /Reset your Parley password/), 'reset-password');
    expect((await post('/password-reset/confirm', { token, newPassword: NEW_PASSWORD })).statusCode).toBe(204);
    const answer = await logIn(account.email, NEW_PASSWORD);
    expect(answer.statusCode).toBe(202);
    expect(answer.json<{ twoFactorRequired: boolean }>().twoFactorRequired).toBe(true);
  });

  it('limits wrong codes per account, and a code without its challenge does nothing', async () => {
    const account = await harness.signUp();
    const { secret } = await enrol(account);
    const challenge = await challengeFor(account);
    const max = harness.config.rateLimits.loginFailuresPerEmailAndAddress.max;
    // The enrolment's one wrong code counts too.
    for (let i = 1; i < max; i++) expect((await post('/sessions/two-factor', { challenge, code: '000000' })).statusCode).toBe(403);
    const limited = await post('/sessions/two-factor', { challenge, code: codeAt(secret, timeStep(new Date()) + 1) });
    expect(limited.statusCode).toBe(429);
    const forged = await post('/sessions/two-factor', { challenge: 'A'.repeat(43), code: '123456' });
    expect(forged.statusCode).toBe(401);
  });
});
