import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { publicReadiness } from './readiness.js';

const publicReadinessSchema = z.object({
  status: z.enum(['ready', 'unavailable']),
  down: z.array(z.string()).describe('The dependencies that are down'),
  checks: z.record(z.string(), z.enum(['up', 'down'])),
});

/** Public, unauthenticated: up or down per dependency, nothing about versions, hosts or errors. */
export function healthRoutes(app: FastifyInstance): void {
  app.get('/health/live', { schema: { tags: ['health'], summary: 'The process answers' } }, () => ({ status: 'live' }));

  app.get(
    '/health/ready',
    {
      schema: {
        tags: ['health'],
        summary: 'Every dependency is reachable (200) or not (503, naming which); the reasons are for operators (GET /api/v1/operator/health)',
        response: { 200: publicReadinessSchema, 503: publicReadinessSchema },
      },
    },
    async (_request, reply) => {
      const report = await app.readiness();
      return reply.code(report.status === 'ready' ? 200 : 503).send(publicReadiness(report));
    },
  );
}
