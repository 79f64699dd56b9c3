import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireAuth } from '../auth/auth.plugin.js';
import { principalOf } from '../auth/principal.js';
import { expected, noInput, problemResponses } from '../http/schemas.js';
import { BackupService } from './backups.service.js';

const backupSchema = z.object({
  id: z.uuid(),
  kind: z
    .enum(['scheduled', 'on_demand', 'safety', 'final', 'move'])
    .describe(
      'safety: taken by a restore just before it replaced the data, so the restore can be undone; final: taken by the deletion, kept for the grace period; move: taken when the server moved to another node, the data it started on there',
    ),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'forgotten']).describe('queued also while a failed attempt waits for its retry (see error)'),
  requestedAt: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
  sizeBytes: z.number().int().nullable().describe("Bytes of the server's data the backup read"),
  addedBytes: z.number().int().nullable().describe('Bytes the backup added to the repository after deduplication'),
  pausedMs: z.number().int().nullable().describe('How long the server was paused for a consistent copy'),
  attempts: z.number().int(),
  error: z.string().nullable().describe('Why the last attempt failed; null when it did not'),
  errorType: z.string().nullable(),
});

const serverParams = z.strictObject({ serverId: z.uuid({ error: expected('must be a server id (a UUID)') }) });
const backupParams = serverParams.extend({ id: z.uuid({ error: expected('must be a backup id (a UUID)') }) });

export const backupRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const backups = new BackupService(app.prisma, app.audit, app.jobs, app.log);

  app.get(
    '/servers/:serverId/backups',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['backups'],
        summary: "A server's backups, newest first, and its plan's schedule",
        params: serverParams,
        response: {
          200: z.object({
            schedule: z.object({
              intervalMinutes: z.number().int(),
              keep: z.object({ last: z.number().int(), daily: z.number().int(), weekly: z.number().int() }).describe('What the retention keeps: the last N, one per day for N days, one per week for N weeks'),
              nextAt: z.iso.datetime().nullable().describe('When the next scheduled backup is due; null while one is under way'),
            }),
            items: z.array(backupSchema),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => backups.list(principalOf(request), request.params.serverId),
  );

  app.post(
    '/servers/:serverId/backups',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['backups'],
        summary: 'Back the server up now; while a backup is under way, that one is returned',
        params: serverParams,
        body: noInput,
        response: { 202: backupSchema, ...problemResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await backups.request(principalOf(request), request.params.serverId, request.ip)),
  );

  app.post(
    '/servers/:serverId/backups/:id/restore',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['backups'],
        summary: "Replace the server's data with this backup's; a safety backup of the current data is taken first",
        params: backupParams,
        body: noInput,
        response: { 202: z.object({ accepted: z.boolean(), requestId: z.uuid() }), ...problemResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await backups.restore(principalOf(request), request.params.serverId, request.params.id, request.ip)),
  );

  done();
};
