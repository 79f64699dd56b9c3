import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { PROVISIONING_QUEUE } from '../../worker/src/contracts/provisioning.js';

/** The provisioning queue on `redisUrl`, to look at the jobs the API queued; close it after. */
export function provisioningQueue(redisUrl: string): { queue: Queue; close: () => Promise<void> } {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(PROVISIONING_QUEUE, { connection });
  return {
    queue,
    close: async () => {
      await queue.close();
      connection.disconnect();
    },
  };
}
