import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireAuth } from '../auth/auth.plugin.js';
import { principalOf } from '../auth/principal.js';
import { expected, pageLimit, pageSchema, problemResponses } from '../http/schemas.js';
import { InviteService } from './invites.service.js';

const serverParams = z.strictObject({ serverId: z.uuid({ error: expected('must be a server id (a UUID)') }) });
const inviteParams = serverParams.extend({ id: z.uuid({ error: expected('must be an invite id (a UUID)') }) });

const inviteSchema = z.object({
  id: z.uuid(),
  serverId: z.uuid(),
  state: z.string().describe('pending (being created on the server), active, redeemed, revoking, revoked, expired or failed.'),
  expiresAt: z.iso.datetime(),
  revokedAt: z.iso.datetime().nullable().describe('When revoking was asked for.'),
  lastError: z.string().nullable().describe('Why the last attempt to apply a change failed, if it did.'),
  createdAt: z.iso.datetime(),
});

export const inviteRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const invites = new InviteService(app.prisma, app.audit, app.xmppUsersQueue, app.secrets, app.log);

  app.get(
    '/servers/:serverId/invites',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['invites'],
        summary: 'The invites of a server, newest first (links only on GET /invites/{id})',
        params: serverParams,
        querystring: z.strictObject({ cursor: z.uuid({ error: expected('must be the nextCursor of a previous page') }).optional(), limit: pageLimit }),
        response: { 200: pageSchema(inviteSchema), ...problemResponses },
      },
    },
    (request) => invites.list(principalOf(request), request.params.serverId, request.query),
  );

  app.post(
    '/servers/:serverId/invites',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['invites'],
        summary: 'Create an invite: a link that lets one person register an account; get it from GET /invites/{id} once active',
        params: serverParams,
        body: z.strictObject({
          expiresInHours: z
            .number({ error: expected('must be a number of hours') })
            .int('must be a whole number of hours')
            .min(1, 'must be from 1 to 720 (30 days)')
            .max(720, 'must be from 1 to 720 (30 days)')
            .default(168)
            .describe('How long the link works; 168 (a week) when left out.'),
        }),
        response: { 202: inviteSchema, ...problemResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await invites.create(principalOf(request), request.params.serverId, request.body, request.ip)),
  );

  app.get(
    '/servers/:serverId/invites/:id',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['invites'],
        summary: 'An invite, with its link while it can be used (treat the link like a password)',
        params: inviteParams,
        response: {
          200: inviteSchema.extend({
            link: z.string().nullable().describe('xmpp:DOMAIN?register;preauth=...: anyone holding it can register one account. Null unless active.'),
          }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => reply.header('cache-control', 'no-store').send(await invites.get(principalOf(request), request.params.serverId, request.params.id)),
  );

  app.delete(
    '/servers/:serverId/invites/:id',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['invites'],
        summary: 'Revoke an invite: its link stops working; repeat to retry a revocation that failed',
        params: inviteParams,
        response: { 202: inviteSchema, ...problemResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await invites.revoke(principalOf(request), request.params.serverId, request.params.id, request.ip)),
  );

  done();
};
