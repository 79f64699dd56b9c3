import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireAuth } from '../auth/auth.plugin.js';
import { principalOf } from '../auth/principal.js';
import { expected, problemResponses } from '../http/schemas.js';
import { UsageService } from './usage.service.js';

const count = z.number().int();
const usageSchema = z.object({
  sampledAt: z.iso.datetime().nullable().describe('When the worker last counted; null until its first count (every ACCOUNT_CENSUS_INTERVAL_MS)'),
  limits: z.object({ users: count.describe("The plan's users per server"), storageBytes: count.describe("The plan's storage") }),
  latest: z
    .object({
      registeredUsers: count.describe('Accounts but the admin'),
      onlineUsers: count.describe('Of those, with a session open'),
      uploadBytes: count.describe('Files shared through uploads'),
      archiveBytes: count.describe('Message archives (1:1 and group chats)'),
    })
    .nullable(),
  messagesToday: count.describe('Messages sent today (UTC) by the server\'s users and in its group chats, as counted so far'),
  ranges: z.array(
    z.object({
      days: count,
      bucketMinutes: count,
      points: z
        .array(z.object({ at: z.iso.datetime(), registeredUsers: count, onlineUsers: count, storageBytes: count }))
        .describe('The peak of each bucket, oldest first; a bucket without samples has no point'),
      messagesPerDay: z.array(z.object({ day: z.iso.date(), messages: count })).describe('Every day of the range, oldest first'),
    }),
  ),
});

const serverParams = z.strictObject({ serverId: z.uuid({ error: expected('must be a server id (a UUID)') }) });

export const usageRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const usage = new UsageService(app.prisma);

  app.get(
    '/servers/:serverId/usage',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['usage'],
        summary: 'Users, sessions, messages and storage of a server: now, against its plan, and over the last 7 and 30 days',
        params: serverParams,
        response: { 200: usageSchema, ...problemResponses },
      },
    },
    (request) => usage.get(principalOf(request), request.params.serverId),
  );

  done();
};
