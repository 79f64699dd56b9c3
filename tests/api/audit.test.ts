import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionCookieOf, startApiHarness, withCookie, withToken, type ApiHarness, type TestAccount } from '../support/api-harness.js';
import { readyServer } from '../support/api-tenant-fixtures.js';
import { expectEvery } from '../support/expect-every.js';

interface AuditDto {
  id: string;
  action: string;
  actorId: string | null;
  actorKind: string;
  apiTokenId: string | null;
  targetType: string;
  targetId: string | null;
  ip: string | null;
  detail: unknown;
  createdAt: string;
}
interface Page {
  items: AuditDto[];
  nextCursor: string | null;
}

let harness: ApiHarness;

beforeAll(async () => {
  harness = await startApiHarness();
});

afterAll(async () => {
  await harness?.close();
});

const audit = (account: TestAccount, query = '') => harness.inject({ method: 'GET', url: `/api/v1/audit${query}`, headers: withToken(account) });

describe('audit log', () => {
  it('records every write with actor, kind, target and address, and never a secret', async () => {
    const account = await harness.signUp();
    const login = await harness.inject({ method: 'POST', url: '/api/v1/sessions', payload: { email: account.email, password: account.password } });
    const second = { ...account, cookie: sessionCookieOf(login), csrfToken: login.json<{ csrfToken: string }>().csrfToken };
    const created = await harness.inject({ method: 'POST', url: '/api/v1/tokens', headers: withToken(account), payload: { name: 'ci' } });
    const { token, secret } = created.json<{ token: { id: string }; secret: string }>();
    await harness.inject({ method: 'DELETE', url: `/api/v1/tokens/${token.id}`, headers: withCookie(second) });
    const newPassword = 'tangerine harbor violin';
    await harness.inject({ method: 'POST', url: '/api/v1/me/password', headers: withCookie(second), payload: { currentPassword: account.password, newPassword } });
    await harness.inject({ method: 'DELETE', url: '/api/v1/sessions/current', headers: withCookie(second) });

    const rows = await harness.prisma.auditLog.findMany({ where: { actorId: account.id }, orderBy: { id: 'asc' } });
    expect(rows.map((r) => [r.action, r.actorKind, r.targetType])).toEqual([
      ['account.create', 'customer', 'account'],
      ['session.create', 'customer', 'session'],
      ['token.create', 'customer', 'api_token'], // the harness's own token, made with the cookie
      ['session.create', 'customer', 'session'],
      ['token.create', 'api_token', 'api_token'],
      ['token.revoke', 'customer', 'api_token'],
      ['account.password_change', 'customer', 'account'],
      ['session.delete', 'customer', 'session'],
    ]);
    expectEvery(rows, (r) => r.ip === '127.0.0.1' || r.ip?.startsWith('10.') === true, 'audit rows');
    expect(rows[4]).toMatchObject({ apiTokenId: account.tokenId, targetId: token.id, detail: { name: 'ci', prefix: secret.slice(0, 12), expiresAt: null } });
    expect(rows[0]?.detail).toEqual({ email: account.email, plan: 'personal' });

    const everything = JSON.stringify(await harness.prisma.auditLog.findMany(), (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
    for (const secretValue of [account.password, newPassword, secret, account.token, account.cookie.split('=')[1]!, second.cookie.split('=')[1]!, account.csrfToken, second.csrfToken]) {
      expect(everything).not.toContain(secretValue);
    }
  });

  it('shows customers their own entries, newest first, with string ids and a cursor', async () => {
    const [account, other] = [await harness.signUp(), await harness.signUp()];
    const first = await audit(account, '?limit=2');
    expect(first.statusCode).toBe(200);
    const page = first.json<Page>();
    expect(page.items.map((e) => e.action)).toEqual(['token.create', 'session.create']);
    expectEvery(page.items, (e) => e.actorId === account.id && /^\d+$/.test(e.id));
    expect(BigInt(page.items[0]!.id)).toBeGreaterThan(BigInt(page.items[1]!.id));
    expect(page.nextCursor).toBe(page.items[1]?.id);
    const rest = (await audit(account, `?limit=2&cursor=${page.nextCursor}`)).json<Page>();
    expect(rest).toMatchObject({ items: [{ action: 'account.create', targetId: account.id }], nextCursor: null });
    const all = (await audit(account, '?limit=100')).json<Page>();
    expect(all.items.some((e) => e.actorId === other.id)).toBe(false);
  });

  it('shows operators everyone\'s entries', async () => {
    const [customer, operator] = [await harness.signUp(), await harness.signUp({ operator: true })];
    const actors = new Set((await audit(operator, '?limit=100')).json<Page>().items.map((e) => e.actorId));
    expect(actors).toContain(customer.id);
    expect(actors).toContain(operator.id);
  });

  it('shows a customer what an operator did to their resources, and nobody else', async () => {
    const [customer, operator, bystander] = [await harness.signUp(), await harness.signUp({ operator: true }), await harness.signUp()];
    const server = await readyServer(harness, customer);
    const stop = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/actions`, headers: withToken(operator), payload: { action: 'stop' } });
    expect(stop.statusCode).toBe(202);
    const revoke = await harness.inject({ method: 'DELETE', url: `/api/v1/tokens/${customer.tokenId}`, headers: withToken(operator) });
    expect(revoke.statusCode).toBe(204);

    const session = { cookie: customer.cookie };
    const seen = (await harness.inject({ method: 'GET', url: '/api/v1/audit?limit=100', headers: session })).json<Page>().items;
    expect(seen.filter((e) => e.actorId === operator.id).map((e) => [e.action, e.targetId])).toEqual([
      ['token.revoke', customer.tokenId],
      ['server.stop', server.id],
    ]);
    const theirs = (await audit(bystander, '?limit=100')).json<Page>().items;
    expect(theirs.some((e) => e.actorId === operator.id || e.actorId === customer.id)).toBe(false);
  });

  it('refuses a malformed cursor, or one past the bigint range, with a 400', async () => {
    const account = await harness.signUp();
    for (const cursor of ['abc', '-1', '99999999999999999999', '9223372036854775808']) {
      const answer = await audit(account, `?cursor=${cursor}`);
      expect(answer.statusCode, cursor).toBe(400);
      expect(answer.json<{ errors: unknown[] }>().errors).toEqual([{ in: 'query', field: 'cursor', message: 'must be the nextCursor of a previous page' }]);
    }
    expect((await audit(account, '?cursor=9223372036854775807')).statusCode).toBe(200);
  });

  it('needs authentication', async () => {
    expect((await harness.inject({ method: 'GET', url: '/api/v1/audit' })).statusCode).toBe(401);
  });
});
