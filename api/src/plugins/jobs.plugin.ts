import { FlowProducer, Queue } from 'bullmq';
import fp from 'fastify-plugin';
import { Redis } from 'ioredis';
import { PROVISIONING_QUEUE, type ServerAction, type ServerBackupJob, type ServerExportJob, type ServerMoveJob, type ServerRestoreJob, type NodeDrainJob } from '../../../worker/src/contracts/provisioning.js';
import { describeError } from '../../../worker/src/contracts/dependency-check.js';
import {
  enqueueAdminReset,
  enqueueServerConfig,
  enqueueComplianceCheck,
  enqueueTurnRotation,
  enqueueDeprovisioning,
  enqueueProvisioning,
  enqueueServerAction,
  enqueueServerBackup,
  enqueueServerExport,
  enqueueServerMove,
  enqueueNodeDrain,
  enqueueServerRestore,
  restartProvisioning,
} from '../../../worker/src/contracts/provisioning-flow.js';

/** The work the API hands to the worker; ids only, never secrets. */
export interface JobsPort {
  provision(serverId: string): Promise<void>;
  /** The order's steps again, for a server set up before (a deletion undone). */
  reprovision(serverId: string): Promise<void>;
  deprovision(serverId: string): Promise<void>;
  serverAction(serverId: string, action: ServerAction, requestId: string): Promise<void>;
  adminReset(serverId: string, issuance: number): Promise<void>;
  /** Applies a server's settings (contact addresses) as of change `revision`. */
  serverConfig(serverId: string, revision: number): Promise<void>;
  /** Replaces a server's TURN secret with version `version`. */
  turnRotation(serverId: string, version: number): Promise<void>;
  /** Runs the XEP-0479 compliance checks of a ready server again. */
  complianceCheck(serverId: string): Promise<void>;
  backup(job: ServerBackupJob): Promise<void>;
  restore(job: ServerRestoreJob): Promise<void>;
  export(job: ServerExportJob): Promise<void>;
  move(job: ServerMoveJob): Promise<void>;
  drainNode(job: NodeDrainJob): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    jobs: JobsPort;
    /** The queue itself, for operators' reads and retries (depth, failed jobs); add work through `jobs` only. */
    provisioningQueue: Queue;
  }
}

export interface JobsPluginOptions {
  redisUrl: string;
}

/**
 * BullMQ producers on their own connection. It fails fast while Redis is down (no offline
 * queue), so a request that must enqueue answers 503 at once instead of hanging.
 */
export const jobsPlugin = fp<JobsPluginOptions>(
  (app, options, done) => {
    const connection = new Redis(options.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    connection.on('error', (error) => app.log.debug({ err: describeError(error) }, 'job queue connection error'));
    const queue = new Queue(PROVISIONING_QUEUE, { connection });
    const flows = new FlowProducer({ connection });
    app.decorate('jobs', {
      provision: (serverId) => enqueueProvisioning(flows, serverId),
      reprovision: (serverId) => restartProvisioning(queue, flows, serverId),
      deprovision: (serverId) => enqueueDeprovisioning(queue, serverId),
      serverAction: (serverId, action, requestId) => enqueueServerAction(queue, serverId, action, requestId),
      adminReset: (serverId, issuance) => enqueueAdminReset(queue, serverId, issuance),
      serverConfig: (serverId, revision) => enqueueServerConfig(queue, { serverId, revision }),
      complianceCheck: (serverId) => enqueueComplianceCheck(queue, { serverId }),
      turnRotation: (serverId, version) => enqueueTurnRotation(queue, { serverId, version }),
      backup: (job) => enqueueServerBackup(queue, job),
      restore: (job) => enqueueServerRestore(queue, job),
      export: (job) => enqueueServerExport(queue, job),
      move: (job) => enqueueServerMove(queue, job),
      drainNode: (job) => enqueueNodeDrain(queue, job),
    } satisfies JobsPort);
    app.decorate('provisioningQueue', queue);
    app.addHook('onClose', async () => {
      await Promise.allSettled([queue.close(), flows.close()]);
      connection.disconnect();
    });
    done();
  },
  { name: 'parley-jobs', fastify: '5.x' },
);
