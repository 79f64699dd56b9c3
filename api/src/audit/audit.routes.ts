import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireAuth } from '../auth/auth.plugin.js';
import { principalOf } from '../auth/principal.js';
import { pageLimit, pageSchema, problemResponses } from '../http/schemas.js';

// Postgres bigint: a larger cursor would fail in the database instead of in validation.
const MAX_BIGINT = 2n ** 63n - 1n;

const auditLogSchema = z.object({
  id: z.string().describe('A decimal integer: the log is ordered by it.'),
  action: z.string(),
  actorId: z.uuid().nullable(),
  actorKind: z.enum(['customer', 'operator', 'api_token', 'system']),
  apiTokenId: z.uuid().nullable(),
  targetType: z.string(),
  targetId: z.string().nullable(),
  ip: z.string().nullable(),
  detail: z.unknown(),
  createdAt: z.iso.datetime(),
});

export const auditRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  app.get(
    '/audit',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['audit'],
        summary: 'The audit log, newest first (your own actions and anything done to your resources, by operators too; operators see everyone\'s)',
        querystring: z.strictObject({
          cursor: z
            .string()
            .refine((value) => /^\d{1,19}$/.test(value) && BigInt(value) <= MAX_BIGINT, 'must be the nextCursor of a previous page')
            .optional(),
          limit: pageLimit,
        }),
        response: { 200: pageSchema(auditLogSchema), ...problemResponses },
      },
    },
    (request) => app.audit.list(principalOf(request), request.query),
  );
  done();
};
