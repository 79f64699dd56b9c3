import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/src/app.js';
import { loadApiConfig } from '../../api/src/config.js';
import type { ProvisioningHarness } from './provisioning-harness.js';
import { freePort } from './redis-server.js';
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
export async function startPlatformApi(harness: ProvisioningHarness, options: { mailbox?: TestMailbox } = {}): Promise<ListeningApi> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const defaults = loadApiConfig();
  const mail = { ...defaults.mail, publicBaseUrl: url, ...(options.mailbox ? { smtpUrl: options.mailbox.url } : {}) };
  const config = { ...defaults, databaseUrl: harness.db.url, redisUrl: harness.redis.url, logLevel: 'warn', host: '127.0.0.1', port, mail };
  const app = buildApp({ config });
  await app.listen({ host: '127.0.0.1', port });
  // Idempotent: a test may stop the API on purpose before the suite's cleanup does.
  let closing: Promise<void> | undefined;
  return { app, url, close: () => (closing ??= app.close()) };
}
