import type { FastifyInstance } from 'fastify';
import { checkReadiness, type ReadinessProbes } from './readiness.js';

export interface HealthRoutesOptions {
  probes: ReadinessProbes;
  timeoutMs: number;
}

export function healthRoutes(app: FastifyInstance, options: HealthRoutesOptions): void {
  app.get('/health/live', { schema: { tags: ['health'], summary: 'The process answers' } }, () => ({ status: 'live' }));

  app.get('/health/ready', { schema: { tags: ['health'], summary: 'Every dependency is reachable (200) or not (503, naming which)' } }, async (_request, reply) => {
    const report = await checkReadiness(options.probes, options.timeoutMs);
    return reply.code(report.status === 'ready' ? 200 : 503).send(report);
  });
}
