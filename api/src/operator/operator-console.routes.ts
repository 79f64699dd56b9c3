import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PROVISIONING_QUEUE } from '../../../worker/src/contracts/provisioning.js';
import { XMPP_USERS_QUEUE } from '../../../worker/src/contracts/xmpp-user-jobs.js';
import { requireOperator } from '../auth/auth.plugin.js';
import { principalOf } from '../auth/principal.js';
import { noInput, problemResponses } from '../http/schemas.js';
import { NodeService } from '../nodes/nodes.service.js';
import { FailedJobsService } from './failed-jobs.service.js';
import { OperatorConsoleService } from './operator-console.service.js';
import { failedJobSchema, overviewSchema, retryAnswer, retryParams } from './operator-console.schemas.js';

const TAGS = ['operator console'];

/** The operator console's reads and its one action (retrying a failed job): operators only. */
export const operatorConsoleRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const queues = { [PROVISIONING_QUEUE]: app.provisioningQueue, [XMPP_USERS_QUEUE]: app.xmppUsersQueue };
  const nodes = new NodeService(app.prisma, app.audit, app.jobs, app.log);
  const operatorConsole = new OperatorConsoleService({ prisma: app.prisma, redis: app.redis, nodes, queues, acmeOrderLimits: app.config.acmeOrderLimits });
  const failedJobs = new FailedJobsService(app.prisma, app.audit, queues, app.log);

  app.get(
    '/operator/overview',
    {
      onRequest: [requireOperator],
      schema: {
        tags: TAGS,
        summary: 'Nodes and their capacity, servers needing attention, certificates by expiry, backups by age, the ACME budget and the queues',
        querystring: z.strictObject({}),
        response: { 200: overviewSchema, ...problemResponses },
      },
    },
    () => operatorConsole.overview(),
  );

  app.get(
    '/operator/jobs/failed',
    {
      onRequest: [requireOperator],
      schema: {
        tags: TAGS,
        summary: 'The newest 100 jobs that failed for good on the worker’s queues',
        querystring: z.strictObject({}),
        response: { 200: z.object({ items: z.array(failedJobSchema) }), ...problemResponses },
      },
    },
    () => failedJobs.list(),
  );

  app.post(
    '/operator/jobs/:queue/:jobId/retry',
    {
      onRequest: [requireOperator],
      schema: {
        tags: TAGS,
        summary: 'Put a failed job back on its queue, its attempts counted afresh; 409 when the job is not failed',
        params: retryParams,
        body: noInput,
        response: { 202: retryAnswer, ...problemResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await failedJobs.retry(principalOf(request), request.params.queue, request.params.jobId, request.ip)),
  );

  done();
};
