import { loadApiConfig } from './config.js';
import { buildApp } from './app.js';
import { createApiRedis } from './plugins/redis.plugin.js';
import { createDatabase } from '../../prisma/client.js';
import { ConfigError } from '../../worker/src/contracts/env-fields.js';
import { describeError } from '../../worker/src/contracts/dependency-check.js';
import { listenForMetrics } from '../../worker/src/metrics/metrics-http-server.js';

async function main(): Promise<void> {
  const config = loadApiConfig();
  const database = createDatabase(config.databaseUrl);
  const redis = createApiRedis(config.redisUrl);
  const app = buildApp({ config, database, redis });
  redis.on('error', (error) => app.log.debug({ err: describeError(error) }, 'redis connection error'));
  await redis.connect().catch((error: unknown) => app.log.warn({ err: describeError(error) }, 'redis not reachable yet; retrying'));

  const address = await app.listen({ host: config.host, port: config.port });
  app.log.info(`Parley API listening on ${address} (${config.mode} mode)`);
  // Its own listener (API_METRICS_ADDRESS): the public port never serves /metrics.
  const metrics = config.metrics
    ? await listenForMetrics({
        ...config.metrics,
        registry: app.metrics.registry,
        setting: 'API_METRICS_ADDRESS',
        onError: (error) => app.log.error({ err: describeError(error) }, 'metrics scrape failed'),
      })
    : null;
  if (metrics) app.metrics.collectProcessMetrics();
  if (metrics) app.log.info(`Parley API metrics on http://${metrics.address}/metrics`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'api stopping');
    Promise.resolve(metrics?.close())
      .then(() => app.close())
      .then(() => database.close())
      .then(() => redis.disconnect())
      .catch((error: unknown) => app.log.error({ err: describeError(error) }, 'error during shutdown'));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`parley api: ${error.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`parley api: ${describeError(error)}\n`);
  process.exit(1);
});
