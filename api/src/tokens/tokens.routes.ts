import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireAuth } from '../auth/auth.plugin.js';
import { principalOf } from '../auth/principal.js';
import { expected, labelSchema, pageLimit, pageSchema, problemResponses, uuidParams } from '../http/schemas.js';
import { TokenService } from './tokens.service.js';
import { OPERATOR_TOKEN_MAX_DAYS, TOKEN_SCOPES } from '../auth/token-scope.js';

const apiTokenSchema = z.object({
  id: z.uuid(),
  accountId: z.uuid(),
  name: z.string(),
  prefix: z.string().describe('The first characters of the token, to tell tokens apart.'),
  scope: z.enum(TOKEN_SCOPES).describe('account: acts on its own account only; operator_read: an operator token that reads everything; operator: full operator powers.'),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
  lastUsedAt: z.iso.datetime().nullable(),
});

export const tokenRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const tokens = new TokenService(app.prisma, app.audit);

  app.post(
    '/tokens',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['tokens'],
        summary: 'Create a personal API token; the token itself is shown only in this answer',
        body: z.strictObject({
          name: labelSchema(100, 'say what the token is for'),
          scope: z
            .enum(TOKEN_SCOPES, { error: expected(`must be one of: ${TOKEN_SCOPES.join(', ')}`) })
            .default('account')
            .describe(`What the token may do beyond your own account. Operators only, from a session, and such a token must expire within ${OPERATOR_TOKEN_MAX_DAYS} days.`),
          expiresInDays: z.number({ error: expected('must be a number of days') }).int('must be a whole number of days').min(1, 'must be from 1 to 3650').max(3650, 'must be from 1 to 3650').optional().describe('Never expires when left out.'),
        }),
        response: {
          201: z.object({ token: apiTokenSchema, secret: z.string().describe('Send as "Authorization: Bearer <secret>". Shown once: store it now.') }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => reply.code(201).send(await tokens.create(principalOf(request), request.body, request.ip)),
  );

  app.get(
    '/tokens',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['tokens'],
        summary: 'Your live API tokens, newest first (operators: everyone\'s)',
        querystring: z.strictObject({ cursor: z.uuid({ error: expected('must be the nextCursor of a previous page') }).optional(), limit: pageLimit }),
        response: { 200: pageSchema(apiTokenSchema), ...problemResponses },
      },
    },
    (request) => tokens.list(principalOf(request), request.query),
  );

  app.delete(
    '/tokens/:id',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['tokens'],
        summary: 'Revoke an API token: it stops working at once',
        params: uuidParams,
        response: { 204: z.null().describe('Revoked'), ...problemResponses },
      },
    },
    async (request, reply) => {
      await tokens.revoke(principalOf(request), request.params.id, request.ip);
      return reply.code(204).send(null);
    },
  );
  done();
};
