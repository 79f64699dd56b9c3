import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireOperator } from '../auth/auth.plugin.js';
import { principalOf } from '../auth/principal.js';
import { expected, problemResponses } from '../http/schemas.js';
import { NodeService } from './nodes.service.js';
import { MOVE_SOURCES } from '../../../worker/src/contracts/provisioning.js';

const nodeSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  hostname: z.string(),
  publicAddress: z.string().describe("The address the node's servers are published on, and their DNS records point at"),
  state: z.enum(['active', 'draining']).describe('draining: keeps its servers but takes no new ones'),
  servers: z.number().int().describe('Servers placed on the node (not deleted)'),
  portsFree: z.number().int().describe('Ports of its range that no server holds; each server holds 4'),
});

const moveBody = z.strictObject({
  serverId: z.uuid({ error: expected('must be a server id (a UUID)') }),
  nodeId: z.uuid({ error: expected('must be a node id (a UUID) from GET /api/v1/operator/nodes') }),
  from: z
    .enum(MOVE_SOURCES, { error: expected(`must be one of ${MOVE_SOURCES.join(', ')}`) })
    .default('running')
    .describe("running: stop it and back it up first (default); latest_backup: its node is lost, start it from its newest backup and touch nothing on the old node (what changed after that backup is not restored)"),
});

/** Nodes and moving servers between them: operators only. */
export const nodeRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const nodes = new NodeService(app.prisma, app.audit, app.jobs, app.log);

  app.get(
    '/operator/nodes',
    {
      onRequest: [requireOperator],
      schema: {
        tags: ['nodes'],
        summary: 'The nodes servers run on, with how many each holds and its free ports',
        querystring: z.strictObject({}),
        response: { 200: z.object({ items: z.array(nodeSchema) }), ...problemResponses },
      },
    },
    () => nodes.list(),
  );

  app.post(
    '/operator/moves',
    {
      onRequest: [requireOperator],
      schema: {
        tags: ['nodes'],
        summary:
          "Move a server to another node: it stops, is backed up, starts on the node from that backup and its DNS records point there. The server's timeline shows each part and the downtime.",
        body: moveBody,
        response: { 202: z.object({ accepted: z.boolean(), requestId: z.uuid() }), ...problemResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await nodes.move(principalOf(request), request.body, request.ip)),
  );

  done();
};
