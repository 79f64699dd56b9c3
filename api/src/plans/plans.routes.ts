import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problemResponses } from '../http/schemas.js';

const planSchema = z.object({
  code: z.string().describe('What sign-up and orders take as `plan`.'),
  name: z.string(),
  maxServers: z.number().int(),
  maxUsersPerServer: z.number().int(),
  storageMiB: z.number().int().describe('Upload storage per server.'),
  memoryMiB: z.number().int().describe('Memory per server.'),
});

/** Public: sign-up and the order form offer the active plans before anyone is logged in. */
export const planRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  app.get(
    '/plans',
    {
      schema: {
        tags: ['plans'],
        summary: 'The plans on offer, smallest first, with their quotas',
        querystring: z.strictObject({}),
        response: { 200: z.object({ items: z.array(planSchema) }), ...problemResponses },
      },
    },
    async () => {
      const plans = await app.prisma.plan.findMany({ where: { active: true }, orderBy: [{ maxServers: 'asc' }, { code: 'asc' }] });
      return {
        items: plans.map((p) => ({ code: p.code, name: p.name, maxServers: p.maxServers, maxUsersPerServer: p.maxUsersPerServer, storageMiB: p.storageMiB, memoryMiB: p.memoryMiB })),
      };
    },
  );
  done();
};
