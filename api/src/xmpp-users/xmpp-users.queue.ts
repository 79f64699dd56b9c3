import { Queue } from 'bullmq';
import fp from 'fastify-plugin';
import { Redis } from 'ioredis';
import { describeError } from '../../../worker/src/contracts/dependency-check.js';
import { XMPP_USERS_QUEUE } from '../../../worker/src/contracts/xmpp-user-jobs.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Where user and invite jobs go; fill it only through the contract's enqueue helpers. */
    xmppUsersQueue: Queue;
  }
}

/**
 * The producer side of the xmpp-users queue, on its own connection. Without an offline queue a
 * command fails at once while Redis is down, so the request answers 503 instead of hanging.
 */
export const xmppUsersQueuePlugin = fp<{ redisUrl: string }>(
  (app, options, done) => {
    const connection = new Redis(options.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    connection.on('error', (error) => app.log.debug({ err: describeError(error) }, 'xmpp-users queue connection error'));
    const queue = new Queue(XMPP_USERS_QUEUE, { connection });
    app.decorate('xmppUsersQueue', queue);
    app.addHook('onClose', async () => {
      // Closing while Redis is down rejects; shutting down must go on regardless.
      await queue.close().catch(() => undefined);
      connection.disconnect();
    });
    done();
  },
  { name: 'parley-xmpp-users-queue', fastify: '5.x' },
);
