import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { DestinationStream } from 'pino';
import { buildApp } from '../../api/src/app.js';
import { loadApiConfig, type ApiConfig } from '../../api/src/config.js';
import type { PrismaClient } from '../../prisma/client.js';
import { seedPlans } from '../../prisma/seed.js';
import { RedisServer } from './redis-server.js';
import { TestMailbox } from './test-mailbox.js';
import { until } from './until.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

/** An account signed up through the API, with both kinds of credentials ready to use. */
export interface TestAccount {
  id: string;
  email: string;
  password: string;
  /** "parley_session=..." for a Cookie header. */
  cookie: string;
  csrfToken: string;
  /** A personal API token (prl_...). */
  token: string;
  tokenId: string;
}

export interface ApiHarness {
  app: FastifyInstance;
  config: ApiConfig;
  /** The test database, for assertions and fixtures (the app has its own client to it). */
  prisma: PrismaClient;
  redis: RedisServer;
  /** The SMTP server the app's account mail is delivered to. */
  mailbox: TestMailbox;
  /** Every log line the app wrote, when started with captureLogs. */
  logs: string[];
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
  signUp(options?: { email?: string; password?: string; operator?: boolean }): Promise<TestAccount>;
  close(): Promise<void>;
}

export const withToken = (account: Pick<TestAccount, 'token'>) => ({ authorization: `Bearer ${account.token}` });
export const withCookie = (account: Pick<TestAccount, 'cookie' | 'csrfToken'>) => ({ cookie: account.cookie, 'x-csrf-token': account.csrfToken });

/** The session cookie from a Set-Cookie answer, as "name=value" for a Cookie header. */
export function sessionCookieOf(response: LightMyRequestResponse): string {
  const cookie = response.cookies.find((c) => c.name === 'parley_session');
  if (!cookie) throw new Error(`no session cookie in the answer (status ${response.statusCode}: ${response.body})`);
  return `${cookie.name}=${cookie.value}`;
}

export const uniqueEmail = (label = 'user') => `${label}-${randomBytes(5).toString('hex')}@example.com`;
export const GOOD_PASSWORD = 'violet staple orbit lantern';

/** An account signed up through the app's API (an operator when asked), with a session and an API token. */
export async function signUpThrough(
  app: FastifyInstance,
  prisma: PrismaClient,
  { email = uniqueEmail(), password = GOOD_PASSWORD, operator = false }: { email?: string; password?: string; operator?: boolean } = {},
): Promise<TestAccount> {
  // From an address of its own, so fixtures never use up the sign-up limit of the address a test checks.
  const remoteAddress = `10.${randomBytes(3).join('.')}`;
  const signUp = await app.inject({ method: 'POST', url: '/api/v1/accounts', payload: { email, password }, remoteAddress });
  if (signUp.statusCode !== 201) throw new Error(`sign-up failed: ${signUp.statusCode} ${signUp.body}`);
  const body = signUp.json<{ account: { id: string }; csrfToken: string }>();
  const cookie = sessionCookieOf(signUp);
  if (operator) await prisma.account.update({ where: { id: body.account.id }, data: { role: 'operator' } });
  // An operator's token acts as a customer unless scoped: the harness's operators get full scope.
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/tokens',
    headers: { cookie, 'x-csrf-token': body.csrfToken },
    payload: operator ? { name: 'test harness', scope: 'operator', expiresInDays: 1 } : { name: 'test harness' },
  });
  if (created.statusCode !== 201) throw new Error(`token creation failed: ${created.statusCode} ${created.body}`);
  const { token, secret } = created.json<{ token: { id: string }; secret: string }>();
  return { id: body.account.id, email, password, cookie, csrfToken: body.csrfToken, token: secret, tokenId: token.id };
}

/**
 * The real API on a fresh migrated database (plans seeded) and a private Redis, driven through
 * inject(). Rate limits default to the production values; tests that sign up many accounts raise them.
 */
export async function startApiHarness(
  options: { config?: (base: ApiConfig) => ApiConfig; captureLogs?: boolean; logStream?: DestinationStream } = {},
): Promise<ApiHarness> {
  const db: TestDatabase = await createTestDatabase();
  await seedPlans(db.prisma);
  const redis = await RedisServer.start();
  const mailbox = await TestMailbox.start();
  const defaults = loadApiConfig();
  const base = {
    ...defaults,
    databaseUrl: db.url,
    redisUrl: redis.url,
    logLevel: options.captureLogs ? 'trace' : 'silent',
    mail: { ...defaults.mail, smtpUrl: mailbox.url },
  };
  const config = options.config ? options.config(base) : base;
  const logs: string[] = [];
  const logStream = options.captureLogs ? { write: (line: string) => void logs.push(line) } : options.logStream;
  const app = buildApp({ config, ...(logStream ? { logStream } : {}) });
  await app.ready();
  // The app's clients fail fast while Redis is down and reconnect with a backoff: a test that
  // restarts Redis waits for all three, so the next test does not meet a 503 it did not cause.
  redis.onResume(async () => {
    await until(
      "the API's Redis clients reconnected",
      async () => {
        const clients = await Promise.all([app.provisioningQueue.client, app.xmppUsersQueue.client]);
        // 'wait': a lazy client that never connected, and so has nothing to reconnect.
        return [app.redis, ...clients].every((client) => client.status === 'ready' || client.status === 'wait') ? true : null;
      },
      15_000,
      50,
    );
  });

  const inject = (request: InjectOptions) => app.inject(request);
  return {
    app,
    config,
    prisma: db.prisma,
    redis,
    mailbox,
    logs,
    inject,
    signUp: (signUpOptions) => signUpThrough(app, db.prisma, signUpOptions),
    async close() {
      await app.close();
      await db.drop();
      await redis.stop();
      await mailbox.close();
    },
  };
}
