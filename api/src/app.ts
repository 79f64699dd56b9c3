import Fastify, { type FastifyInstance } from 'fastify';
import type { ApiConfig } from './config.js';
import { registerProblemHandler } from './http/problem.js';
import { healthRoutes } from './health/health.routes.js';
import type { ReadinessProbes } from './health/readiness.js';

export interface AppDependencies {
  config: ApiConfig;
  readiness: ReadinessProbes;
}

/** Builds the API without listening, so tests drive the real app through inject() or a port. */
export function buildApp(deps: AppDependencies): FastifyInstance {
  const app = Fastify({
    logger: {
      level: deps.config.logLevel,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.secret'], censor: '[redacted]' },
    },
  });
  registerProblemHandler(app);
  healthRoutes(app, { probes: deps.readiness, timeoutMs: deps.config.healthCheckTimeoutMs });
  return app;
}
