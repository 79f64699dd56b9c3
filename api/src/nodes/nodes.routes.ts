import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireOperator } from '../auth/auth.plugin.js';
import { principalOf } from '../auth/principal.js';
import { expected, noInput, problemResponses } from '../http/schemas.js';
import { NodeService } from './nodes.service.js';
import { MOVE_SOURCES } from '../../../worker/src/contracts/provisioning.js';

const nodeSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  hostname: z.string(),
  publicAddress: z.string().describe("The address the node's servers are published on, and their DNS records point at"),
  state: z.enum(['active', 'draining', 'removed']).describe('draining: keeps its servers but takes no new ones; removed: taken out with ./parley node remove'),
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

  app.post(
    '/operator/nodes/:id/drain',
    {
      onRequest: [requireOperator],
      schema: {
        tags: ['nodes'],
        summary:
          'Drain a node: it takes no new servers, and its servers move to the active nodes with the fewest servers, one at a time, each as a move (its timeline shows the downtime). GET /operator/nodes shows what is left.',
        params: z.strictObject({ id: z.uuid({ error: expected('must be a node id (a UUID) from GET /api/v1/operator/nodes') }) }),
        body: noInput,
        response: { 202: z.object({ accepted: z.boolean(), requestId: z.uuid() }), ...problemResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await nodes.drain(principalOf(request), request.params.id, request.ip)),
  );

  app.post(
    '/operator/nodes/:id/activate',
    {
      onRequest: [requireOperator],
      schema: {
        tags: ['nodes'],
        summary: 'Make a drained or draining node take servers again; a drain under way stops after the server it is moving',
        params: z.strictObject({ id: z.uuid({ error: expected('must be a node id (a UUID) from GET /api/v1/operator/nodes') }) }),
        body: noInput,
        response: { 200: nodeSchema, ...problemResponses },
      },
    },
    async (request) => nodes.activate(principalOf(request), request.params.id, request.ip),
  );

  done();
};
