import { pino } from 'pino';
import { loadWorkerConfig } from './config.js';
import { ConfigError } from './contracts/env-fields.js';
import { describeError } from './contracts/dependency-check.js';
import { startWorkerRuntime } from './worker-runtime.js';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const logger = pino({ level: config.logLevel, name: 'parley-worker' });
  const runtime = await startWorkerRuntime(config, logger);
  logger.info({ mode: config.mode, concurrency: config.jobs.concurrency }, 'worker started');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker stopping: letting running steps finish');
    const force = setTimeout(() => {
      logger.error(`running steps did not finish within ${config.shutdownTimeoutMs} ms; exiting (they will be retried)`);
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    runtime
      .close()
      .then(() => logger.info('worker stopped'))
      .catch((error: unknown) => {
        logger.error({ err: describeError(error) }, 'error during shutdown');
        process.exitCode = 1;
      });
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
