import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PLATFORM_COMPONENTS } from '../../../worker/src/contracts/platform-status.js';
import { problemResponses } from '../http/schemas.js';
import { INCIDENT_LIMIT, INCIDENT_WINDOW_DAYS, STATUS_CACHE_MS, StatusService } from './status.service.js';

const componentCode = z.enum(PLATFORM_COMPONENTS);

const platformStatusSchema = z.object({
  status: z.enum(['operational', 'degraded', 'down']).describe('operational: every component is up; down: none is; degraded: some are down'),
  checkedAt: z.iso.datetime(),
  components: z.array(z.object({ code: componentCode, name: z.string(), status: z.enum(['up', 'down']) })),
  incidents: z
    .array(z.object({ component: componentCode, name: z.string(), startedAt: z.iso.datetime(), resolvedAt: z.iso.datetime().nullable().describe('null while it goes on') }))
    .describe(`Newest first, at most ${INCIDENT_LIMIT}: those going on and those that ended in the last ${INCIDENT_WINDOW_DAYS} days`),
});

/** Public, unauthenticated: each component up or down and the recent incidents; no hosts, versions, errors or customers. */
export const statusRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const status = new StatusService(app.prisma, () => app.readiness(), app.log);

  app.get(
    '/status',
    {
      schema: {
        tags: ['status'],
        summary: `The platform's components up or down and its recent incidents, for the public status page (refreshed every ${STATUS_CACHE_MS / 1000} s)`,
        querystring: z.strictObject({}),
        response: { 200: platformStatusSchema, ...problemResponses },
      },
    },
    async (_request, reply) => reply.header('cache-control', `public, max-age=${STATUS_CACHE_MS / 1000}`).send(await status.current()),
  );
  done();
};
