import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/src/app.js';
import { loadApiConfig } from '../../api/src/config.js';
import type { ProvisioningHarness } from './provisioning-harness.js';

export interface ListeningApi {
  app: FastifyInstance;
  /** http://127.0.0.1:<port>, with the built dashboard at / */
  url: string;
  close(): Promise<void>;
}

/** The real API on the harness's database and Redis, listening on an ephemeral loopback port. */
export async function startPlatformApi(harness: ProvisioningHarness): Promise<ListeningApi> {
  const config = { ...loadApiConfig(), databaseUrl: harness.db.url, redisUrl: harness.redis.url, logLevel: 'warn', host: '127.0.0.1', port: 0 };
  const app = buildApp({ config });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('the API did not report a TCP address');
  // Idempotent: a test may stop the API on purpose before the suite's cleanup does.
  let closing: Promise<void> | undefined;
  return { app, url: `http://127.0.0.1:${address.port}`, close: () => (closing ??= app.close()) };
}
