import fp from 'fastify-plugin';
import { ApiMetrics, UNMATCHED_ROUTE } from './api-metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ApiMetrics;
  }
}

/**
 * Counts and times every answered request. Not encapsulated, so its hook sees every route and the
 * not-found handler; it only records; serving /metrics is main.ts's separate listener. With no
 * listener configured (API_METRICS_ADDRESS empty) nothing would read them: no hook at all.
 */
export const metricsPlugin = fp<{ record: boolean }>(
  (app, options, done) => {
    const metrics = new ApiMetrics();
    app.decorate('metrics', metrics);
    if (!options.record) {
      done();
      return;
    }
    app.addHook('onResponse', (request, reply, hookDone) => {
      metrics.observe(request.method, request.routeOptions.url ?? UNMATCHED_ROUTE, reply.statusCode, reply.elapsedTime / 1000);
      hookDone();
    });
    done();
  },
  { name: 'parley-metrics', fastify: '5.x' },
);
