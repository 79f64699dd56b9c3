import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHarness, withCookie, withToken, type ApiHarness, type TestAccount } from '../support/api-harness.js';

interface TokenDto {
  id: string;
  accountId: string;
  name: string;
  prefix: string;
  scope: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}
interface Page {
  items: TokenDto[];
  nextCursor: string | null;
}

let harness: ApiHarness;

beforeAll(async () => {
  harness = await startApiHarness();
});

afterAll(async () => {
  await harness?.close();
});

const create = (account: TestAccount, payload: object) => harness.inject({ method: 'POST', url: '/api/v1/tokens', headers: withToken(account), payload });
const list = (account: TestAccount, query = '') => harness.inject({ method: 'GET', url: `/api/v1/tokens${query}`, headers: withToken(account) });

describe('personal API tokens', () => {
  it('creates a prl_ token shown once, stored as a hash, that authenticates as the account', async () => {
    const account = await harness.signUp();
    const answer = await create(account, { name: '  deploy bot ', expiresInDays: 30 });
    expect(answer.statusCode).toBe(201);
    const { token, secret } = answer.json<{ token: TokenDto; secret: string }>();
    expect(secret).toMatch(/^prl_[A-Za-z0-9_-]{43}$/);
    expect(token).toMatchObject({ accountId: account.id, name: 'deploy bot', prefix: secret.slice(0, 12), lastUsedAt: null });
    const days = (Date.parse(token.expiresAt!) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);

    const row = await harness.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } });
    expect(row.tokenHash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(secret.slice(12));

    const me = await harness.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${secret}` } });
    expect(me.json<{ account: { id: string } }>().account.id).toBe(account.id);
  });

  it('lists live tokens with prefix, name and last use, never the secret or its hash', async () => {
    const account = await harness.signUp();
    const answer = await list(account);
    expect(answer.statusCode).toBe(200);
    const page = answer.json<Page>();
    expect(page.nextCursor).toBeNull();
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({ id: account.tokenId, name: 'test harness', prefix: account.token.slice(0, 12) });
    expect(page.items[0]?.lastUsedAt).not.toBeNull();
    expect(Object.keys(page.items[0]!).sort()).toEqual(['accountId', 'createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'prefix', 'scope']);
    expect(answer.body).not.toContain(account.token);
  });

  it('pages newest first with a cursor', async () => {
    const account = await harness.signUp();
    for (const name of ['one', 'two', 'three']) expect((await create(account, { name })).statusCode).toBe(201);
    const first = (await list(account, '?limit=3')).json<Page>();
    expect(first.items.map((t) => t.name)).toEqual(['three', 'two', 'one']);
    expect(first.nextCursor).toBe(first.items[2]?.id);
    const second = (await list(account, `?limit=3&cursor=${first.nextCursor}`)).json<Page>();
    expect(second).toEqual({ items: [expect.objectContaining({ id: account.tokenId }) as TokenDto], nextCursor: null });
  });

  it('revokes a token: it stops working at once and leaves the list; a second revoke is 404', async () => {
    const account = await harness.signUp();
    const { token, secret } = (await create(account, { name: 'short-lived' })).json<{ token: TokenDto; secret: string }>();
    const revoke = () => harness.inject({ method: 'DELETE', url: `/api/v1/tokens/${token.id}`, headers: withCookie(account) });
    expect((await revoke()).statusCode).toBe(204);
    expect((await harness.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${secret}` } })).statusCode).toBe(401);
    expect((await list(account)).json<Page>().items.map((t) => t.id)).toEqual([account.tokenId]);
    const again = await revoke();
    expect(again.statusCode).toBe(404);
    expect(again.json<{ detail: string }>().detail).toContain('GET /api/v1/tokens');
    expect((await harness.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } })).revokedAt).not.toBeNull();
  });

  it.each([
    ['an empty name', { name: '   ' }, 'name'],
    ['a long name', { name: 'x'.repeat(101) }, 'name'],
    ['a name with a NUL byte', { name: 'ci\u0000' }, 'name'],
    ['a name with a newline', { name: 'two\nlines' }, 'name'],
    ['a fractional expiry', { name: 'n', expiresInDays: 1.5 }, 'expiresInDays'],
    ['a zero expiry', { name: 'n', expiresInDays: 0 }, 'expiresInDays'],
  ])('refuses %s with a 400 naming the field', async (_case, payload, field) => {
    const account = await harness.signUp();
    const answer = await create(account, payload);
    expect(answer.statusCode).toBe(400);
    expect(answer.json<{ errors: { field: string }[] }>().errors.map((e) => e.field)).toEqual([field]);
  });

  it('refuses a malformed id or cursor with a 400', async () => {
    const account = await harness.signUp();
    const badId = await harness.inject({ method: 'DELETE', url: '/api/v1/tokens/not-a-uuid', headers: withToken(account) });
    expect(badId.statusCode).toBe(400);
    expect(badId.json<{ errors: unknown[] }>().errors).toEqual([{ in: 'path', field: 'id', message: 'must be a resource id (a UUID)' }]);
    expect((await list(account, '?cursor=abc')).statusCode).toBe(400);
    expect((await list(account, '?limit=1000')).json<{ detail: string }>().detail).toContain('limit must be from 1 to 100');
  });

  it('shows operators every account\'s tokens', async () => {
    const [customer, operator] = [await harness.signUp(), await harness.signUp({ operator: true })];
    const ids = (await list(operator, '?limit=100')).json<Page>().items.map((t) => t.id);
    expect(ids).toContain(customer.tokenId);
    expect(ids).toContain(operator.tokenId);
    expect((await list(customer, '?limit=100')).json<Page>().items.map((t) => t.id)).toEqual([customer.tokenId]);
  });
});

describe('operator tokens are scoped', () => {
  const tokenOf = async (owner: TestAccount, payload: object) => {
    const answer = await harness.inject({ method: 'POST', url: '/api/v1/tokens', headers: withCookie(owner), payload: { name: 'ops script', ...payload } });
    expect(answer.statusCode, answer.body).toBe(201);
    return answer.json<{ token: TokenDto; secret: string }>();
  };
  const as = (secret: string) => ({ authorization: `Bearer ${secret}` });

  it('acts as a customer on its own account unless an operator scoped it; operator_read reads everything and writes nothing of others', async () => {
    const [customer, operator] = [await harness.signUp(), await harness.signUp({ operator: true })];
    const theirs = (await create(customer, { name: 'the customer\'s' })).json<{ token: TokenDto }>().token;
    const plain = await tokenOf(operator, {});
    const reader = await tokenOf(operator, { scope: 'operator_read', expiresInDays: 7 });
    const full = await tokenOf(operator, { scope: 'operator', expiresInDays: 7 });
    expect([plain.token.scope, reader.token.scope, full.token.scope]).toEqual(['account', 'operator_read', 'operator']);

    const listed = async (secret: string) =>
      (await harness.inject({ method: 'GET', url: '/api/v1/tokens?limit=100', headers: as(secret) })).json<Page>().items.map((t) => t.id);
    expect(await listed(plain.secret)).not.toContain(theirs.id);
    expect(await listed(reader.secret)).toContain(theirs.id);
    expect(await listed(full.secret)).toContain(theirs.id);

    const revoke = (secret: string) => harness.inject({ method: 'DELETE', url: `/api/v1/tokens/${theirs.id}`, headers: as(secret) });
    expect((await revoke(plain.secret)).statusCode).toBe(404);
    expect((await revoke(reader.secret)).statusCode).toBe(404);
    expect((await harness.prisma.apiToken.findUniqueOrThrow({ where: { id: theirs.id } })).revokedAt).toBeNull();
    expect((await revoke(full.secret)).statusCode).toBe(204);

    const audit = await harness.prisma.auditLog.findFirstOrThrow({ where: { action: 'token.create', targetId: full.token.id } });
    expect(audit.detail).toMatchObject({ scope: 'operator' });
  });

  it('is minted only by an operator in a session, and always expires', async () => {
    const [customer, operator] = [await harness.signUp(), await harness.signUp({ operator: true })];
    const before = await harness.prisma.apiToken.count();
    const attempts = [
      [customer, withCookie(customer), { scope: 'operator', expiresInDays: 7 }, 403, 'Only an operator logged in'],
      [operator, withToken(operator), { scope: 'operator', expiresInDays: 7 }, 403, 'Only an operator logged in'],
      [operator, withCookie(operator), { scope: 'operator_read' }, 400, 'must set expiresInDays, at most 90'],
      [operator, withCookie(operator), { scope: 'operator', expiresInDays: 365 }, 400, 'must set expiresInDays, at most 90'],
      [operator, withCookie(operator), { scope: 'root', expiresInDays: 7 }, 400, 'must be one of: account, operator_read, operator'],
    ] as const;
    for (const [, headers, payload, status, hint] of attempts) {
      const answer = await harness.inject({ method: 'POST', url: '/api/v1/tokens', headers, payload: { name: 'ops', ...payload } });
      expect(answer.statusCode, answer.body).toBe(status);
      expect(answer.body).toContain(hint);
    }
    expect(await harness.prisma.apiToken.count()).toBe(before);
  });
});
