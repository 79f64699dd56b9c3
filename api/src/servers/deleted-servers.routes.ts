import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireAuth } from '../auth/auth.plugin.js';
import { principalOf } from '../auth/principal.js';
import { noInput, problemResponses, uuidParams } from '../http/schemas.js';
import { DeletedServerService } from './deleted-servers.service.js';

const deletedServerSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  domain: z.string(),
  deletedAt: z.iso.datetime(),
  restorableUntil: z.iso.datetime().describe('Until then the deletion can be undone; afterwards its backups are forgotten for good'),
  restorable: z.boolean().describe('Whether the deletion kept a backup to bring the server back from'),
});

export const deletedServerRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const deleted = new DeletedServerService(app.prisma, app.audit, app.jobs, app.log);

  app.get(
    '/deleted-servers',
    {
      onRequest: requireAuth,
      schema: { tags: ['servers'], summary: 'Deleted servers whose deletion can still be undone', response: { 200: z.object({ items: z.array(deletedServerSchema) }), ...problemResponses } },
    },
    async (request) => deleted.list(principalOf(request)),
  );

  app.post(
    '/deleted-servers/:id/restore',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['servers'],
        summary: 'Undo a deletion: the server is set up again on the data of its final backup',
        params: uuidParams,
        body: noInput,
        response: { 202: z.object({ accepted: z.boolean() }), ...problemResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await deleted.undelete(principalOf(request), request.params.id, request.ip)),
  );

  done();
};
