import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireAuth } from '../auth/auth.plugin.js';
import { principalOf } from '../auth/principal.js';
import { expected, noInput, pageLimit, pageSchema, problemResponses } from '../http/schemas.js';
import { XmppUserService } from './xmpp-users.service.js';

const serverParams = z.strictObject({ serverId: z.uuid({ error: expected('must be a server id (a UUID)') }) });
const userParams = serverParams.extend({ id: z.uuid({ error: expected('must be a user id (a UUID)') }) });

const xmppUserSchema = z.object({
  id: z.uuid(),
  serverId: z.uuid(),
  localpart: z.string(),
  jid: z.string(),
  state: z.string().describe('pending (the server does not have the account yet), active, or deleting.'),
  lastError: z.string().nullable().describe('Why the last attempt to apply a change failed, if it did.'),
  passwordRevealedAt: z.iso.datetime().nullable().describe('When the current password was shown; it can be shown only once.'),
  createdAt: z.iso.datetime(),
});
const acceptedSchema = z.object({ user: xmppUserSchema, next: z.string().describe('How to get the password.') });

export const xmppUserRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const users = new XmppUserService(app.prisma, app.audit, app.xmppUsersQueue, app.secrets, app.log);

  app.get(
    '/servers/:serverId/users',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['xmpp-users'],
        summary: 'The XMPP users of a server, by username',
        params: serverParams,
        querystring: z.strictObject({
          cursor: z.string({ error: expected('must be the nextCursor of a previous page') }).regex(/^[a-z0-9._-]{1,64}$/, 'must be the nextCursor of a previous page').optional(),
          limit: pageLimit,
        }),
        response: { 200: pageSchema(xmppUserSchema), ...problemResponses },
      },
    },
    (request) => users.list(principalOf(request), request.params.serverId, request.query),
  );

  app.post(
    '/servers/:serverId/users',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['xmpp-users'],
        summary: 'Create an XMPP user with a generated password (reveal it once); the server adds the account shortly',
        params: serverParams,
        body: z.strictObject({
          localpart: z
            .string({ error: expected('must be a string') })
            .describe('The part before the @: 1-64 lowercase letters a-z, digits, dots, hyphens and underscores, starting and ending with a letter or digit.'),
        }),
        response: { 202: acceptedSchema, ...problemResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await users.create(principalOf(request), request.params.serverId, request.body, request.ip)),
  );

  app.get(
    '/servers/:serverId/users/:id',
    {
      onRequest: requireAuth,
      schema: { tags: ['xmpp-users'], summary: 'An XMPP user', params: userParams, response: { 200: xmppUserSchema, ...problemResponses } },
    },
    (request) => users.get(principalOf(request), request.params.serverId, request.params.id),
  );

  app.delete(
    '/servers/:serverId/users/:id',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['xmpp-users'],
        summary: 'Delete an XMPP user: the account goes, with its sessions; repeat to retry a deletion that failed',
        params: userParams,
        response: { 202: xmppUserSchema, ...problemResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await users.remove(principalOf(request), request.params.serverId, request.params.id, request.ip)),
  );

  app.post(
    '/servers/:serverId/users/:id/password',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['xmpp-users'],
        summary: 'Give the user a new generated password (its sessions end); reveal it once',
        params: userParams,
        body: noInput,
        response: { 202: acceptedSchema, ...problemResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await users.resetPassword(principalOf(request), request.params.serverId, request.params.id, request.ip)),
  );

  app.post(
    '/servers/:serverId/users/:id/password/reveal',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['xmpp-users'],
        summary: 'Show the user\'s current password, once',
        params: userParams,
        body: noInput,
        response: { 200: z.object({ jid: z.string(), password: z.string() }), ...problemResponses },
      },
    },
    async (request, reply) =>
      reply.header('cache-control', 'no-store').send(await users.revealPassword(principalOf(request), request.params.serverId, request.params.id, request.ip)),
  );

  done();
};
