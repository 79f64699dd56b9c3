import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadWorkerConfig } from './config.js';
import { ConfigError } from './contracts/env-fields.js';
import { describeError } from './contracts/dependency-check.js';
import { createAdapters } from './adapters.js';
import { startHealthReporter } from './health/health-reporter.js';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const logger = pino({ level: config.logLevel, name: 'parley-worker' });
  const adapters = createAdapters(config);
  // Fails fast instead of queueing while Redis is down, so a health report is never stale.
  const healthRedis = new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
  healthRedis.on('error', (error) => logger.debug({ err: describeError(error) }, 'redis connection error'));
  await healthRedis.connect().catch((error: unknown) => logger.warn({ err: describeError(error) }, 'redis not reachable yet; retrying'));

  const reporter = startHealthReporter({
    redis: healthRedis,
    workerId: `${hostname()}:${process.pid}`,
    probes: {
      docker: () => adapters.containers.ping(),
      dns: () => adapters.dns.ping(),
      ca: () => adapters.ca.ping(),
    },
    intervalMs: config.healthReportIntervalMs,
    onPublishError: (error) => logger.warn({ err: describeError(error) }, 'could not publish the health report'),
  });
  logger.info({ mode: config.mode }, 'worker started');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker stopping');
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    reporter.stop();
    healthRedis.disconnect();
    process.exitCode = 0;
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`parley worker: ${error.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`parley worker: ${describeError(error)}\n`);
  process.exit(1);
});
