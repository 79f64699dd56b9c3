import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireOperator } from '../auth/auth.plugin.js';
import { problemResponses } from '../http/schemas.js';

const checkSchema = z.object({ ok: z.boolean(), detail: z.string(), latencyMs: z.number() });
const operatorReadinessSchema = z.object({
  status: z.enum(['ready', 'unavailable']),
  down: z.array(z.string()),
  checks: z.record(z.string(), checkSchema).describe('Each dependency with what it answered, or why not'),
});

/** The readiness report with its reasons (versions, addresses, errors): operators only. */
export const operatorHealthRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  app.get(
    '/operator/health',
    {
      onRequest: [requireOperator],
      schema: {
        tags: ['health'],
        summary: 'Every dependency with its reason; 200 even when one is down',
        querystring: z.strictObject({}),
        response: { 200: operatorReadinessSchema, ...problemResponses },
      },
    },
    () => app.readiness(),
  );
  done();
};
