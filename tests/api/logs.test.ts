import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionCookieOf, startApiHarness, uniqueEmail, type ApiHarness } from '../support/api-harness.js';

let harness: ApiHarness;

beforeAll(async () => {
  harness = await startApiHarness({ captureLogs: true });
});

afterAll(async () => {
  await harness?.close();
});

describe('logs', () => {
  it('never contain a password, session cookie, CSRF token or API token, even at trace level', async () => {
    const secrets: string[] = [];
    const email = uniqueEmail();
    const password = 'juniper falcon ledger';
    const newPassword = 'cobalt meadow anthem';
    secrets.push(password, newPassword);

    const signUp = await harness.inject({ method: 'POST', url: '/api/v1/accounts', payload: { email, password } });
    expect(signUp.statusCode).toBe(201);
    const login = await harness.inject({ method: 'POST', url: '/api/v1/sessions', payload: { email, password } });
    const cookie = sessionCookieOf(login);
    const csrfToken = login.json<{ csrfToken: string }>().csrfToken;
    secrets.push(sessionCookieOf(signUp).split('=')[1]!, cookie.split('=')[1]!, csrfToken);
    const headers = { cookie, 'x-csrf-token': csrfToken };

    const created = await harness.inject({ method: 'POST', url: '/api/v1/tokens', headers, payload: { name: 'ci' } });
    const { token, secret } = created.json<{ token: { id: string }; secret: string }>();
    secrets.push(secret, secret.slice(12));
    const bearer = { authorization: `Bearer ${secret}` };
    expect((await harness.inject({ method: 'GET', url: '/api/v1/me', headers: bearer })).statusCode).toBe(200);
    expect((await harness.inject({ method: 'GET', url: '/api/v1/me', headers })).statusCode).toBe(200);
    // Failures too: wrong passwords and malformed bodies are where inputs tend to get echoed.
    const wrong = 'wrong but secret guess';
    secrets.push(wrong);
    expect((await harness.inject({ method: 'POST', url: '/api/v1/sessions', payload: { email, password: wrong } })).statusCode).toBe(401);
    expect((await harness.inject({ method: 'POST', url: '/api/v1/accounts', payload: { email, password: 'tiny', extra: wrong } })).statusCode).toBe(400);
    expect((await harness.inject({ method: 'DELETE', url: `/api/v1/tokens/${token.id}`, headers })).statusCode).toBe(204);
    expect((await harness.inject({ method: 'GET', url: '/api/v1/me', headers: bearer })).statusCode).toBe(401);
    expect(
      (await harness.inject({ method: 'POST', url: '/api/v1/me/password', headers, payload: { currentPassword: password, newPassword } })).statusCode,
    ).toBe(204);
    expect((await harness.inject({ method: 'DELETE', url: '/api/v1/sessions/current', headers })).statusCode).toBe(204);

    const output = harness.logs.join('');
    // The capture works: every request above was logged.
    expect(harness.logs.filter((line) => line.includes('"incoming request"')).length).toBeGreaterThanOrEqual(11);
    for (const value of secrets) expect(output, 'a secret reached the logs').not.toContain(value);
  });
});
