import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import type { DestinationStream } from 'pino';
import type { Database } from '../../prisma/client.js';
import { auditPlugin } from './audit/audit.plugin.js';
import type { ApiConfig } from './config.js';
import { healthRoutes } from './health/health.routes.js';
import { readinessPlugin } from './health/readiness.plugin.js';
import type { ReadinessProbes } from './health/readiness.js';
import { openApiPlugin } from './http/openapi.plugin.js';
import { registerProblemHandler } from './http/problem.js';
import { registerJsonBodyParser } from './http/json-body.js';
import { dbPlugin } from './plugins/db.plugin.js';
import { redisPlugin } from './plugins/redis.plugin.js';
import { jobsPlugin } from './plugins/jobs.plugin.js';
import { secretsPlugin } from './plugins/secrets.plugin.js';
import { mailPlugin } from './mail/mail.plugin.js';
import { metricsPlugin } from './metrics/metrics.plugin.js';
import { API_V1_PREFIX, v1Routes } from './v1.js';
import { webPlugin } from './web/web.plugin.js';
import { xmppUsersQueuePlugin } from './xmpp-users/xmpp-users.queue.js';
import { serverChangesPlugin } from './servers/server-changes.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: ApiConfig;
  }
}

export interface AppDependencies {
  config: ApiConfig;
  /** Clients the caller owns and closes (main.ts, tests); left out, the app opens and closes its own from config. */
  database?: Database;
  redis?: Redis;
  /** Defaults to probing the app's own Prisma and Redis clients. */
  readiness?: ReadinessProbes;
  /** Where log lines go (stdout by default); tests capture them here. */
  logStream?: DestinationStream;
}

// Request and response logs never carry credentials, whatever a future log line adds.
const REDACTED = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.secret',
  '*.token',
  '*.csrfToken',
];

/** Builds the API without listening, so tests drive the real app through inject() or a port. */
export function buildApp(deps: AppDependencies): FastifyInstance {
  const { config } = deps;
  const app = Fastify({
    trustProxy: config.trustProxy,
    logger: {
      level: config.logLevel,
      redact: { paths: REDACTED, censor: '[redacted]' },
      ...(deps.logStream ? { stream: deps.logStream } : {}),
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerProblemHandler(app);
  registerJsonBodyParser(app);
  app.decorate('config', config);

  // First, so its hook times every route registered after it.
  app.register(metricsPlugin, { record: config.metrics !== null });
  app.register(dbPlugin, { databaseUrl: config.databaseUrl, connectTimeoutMs: config.databaseConnectTimeoutMs, database: deps.database });
  app.register(redisPlugin, { redisUrl: config.redisUrl, redis: deps.redis });
  app.register(jobsPlugin, { redisUrl: config.redisUrl });
  app.register(xmppUsersQueuePlugin, { redisUrl: config.redisUrl });
  app.register(secretsPlugin, { keyring: config.secretsKeyring });
  app.register(mailPlugin, { mail: config.mail });
  app.register(cookie);
  app.register(auditPlugin);
  app.register(serverChangesPlugin);
  app.register(openApiPlugin);

  app.register(readinessPlugin, { probes: deps.readiness, timeoutMs: config.healthCheckTimeoutMs });
  app.register((scope, _options, done) => {
    healthRoutes(scope);
    done();
  });
  app.register(v1Routes, { prefix: API_V1_PREFIX });
  app.register(webPlugin, { distDir: config.webDistDir, platformZone: config.platformZone });
  return app;
}
