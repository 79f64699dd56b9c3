import type { PrismaClient } from '../../prisma/client.js';
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/src/app.js';
import { loadApiConfig, type ApiConfig } from '../../api/src/config.js';
import type { ProvisioningHarness } from './provisioning-harness.js';
import { freePort } from './redis-server.js';
import { until } from './until.js';
import type { TestMailbox } from './test-mailbox.js';

export interface ListeningApi {
  app: FastifyInstance;
  /** http://127.0.0.1:<port>, with the built dashboard at / */
  url: string;
  close(): Promise<void>;
}

/**
 * The real API on the harness's database and Redis, listening on a free loopback port, which the
 * links in its mail point at; its account mail goes to `mailbox` when given.
 */
export async function startPlatformApi(harness: ProvisioningHarness, options: { mailbox?: TestMailbox; configure?: (config: ApiConfig) => ApiConfig } = {}): Promise<ListeningApi> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const defaults = loadApiConfig();
  const mail = { ...defaults.mail, publicBaseUrl: url, ...(options.mailbox ? { smtpUrl: options.mailbox.url } : {}) };
  const base = { ...defaults, databaseUrl: harness.db.url, redisUrl: harness.redis.url, logLevel: 'warn', host: '127.0.0.1', port, mail };
  const app = buildApp({ config: options.configure ? options.configure(base) : base });
  await app.listen({ host: '127.0.0.1', port });
  // Idempotent: a test may stop the API on purpose before the suite's cleanup does.
  let closing: Promise<void> | undefined;
  return { app, url, close: () => (closing ??= app.close()) };
}

/** Sends a request under /api/v1 with an API token: `path` is e.g. `/servers`, `body` JSON. */
export type ApiRequest = (method: string, path: string, body?: unknown) => Promise<Response>;

/**
 * A new customer on the Team plan, signed up through the listening API as a person would, with
 * an API token made in their session; resolves with a request function that uses the token.
 * `makeOperator` (given the account's id) turns the account into an operator's first, and the
 * token is then scoped for operator work.
 */
/** A new account made an operator (through the database, as the API offers no such route) with an operator token. */
export function signUpOperator(apiUrl: string, prisma: PrismaClient): Promise<ApiRequest> {
  return signUpWithToken(apiUrl, async (accountId) => {
    await prisma.account.update({ where: { id: accountId }, data: { role: 'operator' } });
  });
}

export async function signUpWithToken(apiUrl: string, makeOperator?: (accountId: string) => Promise<void>): Promise<ApiRequest> {
  const secret = await signUpForToken(apiUrl, makeOperator);
  return (method, path, body) =>
    fetch(`${apiUrl}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${secret}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
}

/** A new account's personal API token (an operator's, when `makeOperator` makes it one), in clear. */
export async function signUpForToken(apiUrl: string, makeOperator?: (accountId: string) => Promise<void>): Promise<string> {
  const email = `bench-${randomBytes(4).toString('hex')}@example.test`;
  const signUp = await fetch(`${apiUrl}/api/v1/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: `bench ${randomUUID()}`, plan: 'team' }),
  });
  if (signUp.status !== 201) throw new Error(`sign-up: ${signUp.status} ${await signUp.text()}`);
  const cookie = (signUp.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const { csrfToken, account } = (await signUp.json()) as { csrfToken: string; account: { id: string } };
  await makeOperator?.(account.id);
  const tokenResponse = await fetch(`${apiUrl}/api/v1/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken },
    body: JSON.stringify(makeOperator ? { name: 'bench operator', scope: 'operator', expiresInDays: 1 } : { name: 'bench' }),
  });
  if (tokenResponse.status !== 201) throw new Error(`token: ${tokenResponse.status} ${await tokenResponse.text()}`);
  const { secret } = (await tokenResponse.json()) as { secret: string };
  return secret;
}

/** Polls GET /servers/{id} until 404: a deleted server is no longer the customer's to see. */
export async function untilGoneFromApi(request: ApiRequest, id: string, timeoutMs = 90_000): Promise<void> {
  await until(
    `server ${id} gone from the API`,
    async () => {
      const response = await request('GET', `/servers/${id}`);
      await response.text();
      return response.status === 404 ? true : null;
    },
    timeoutMs,
    500,
  );
}
