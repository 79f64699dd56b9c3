import type { Queue } from 'bullmq';
import { PROVISIONING_QUEUE } from '../../../worker/src/contracts/provisioning.js';
import { XMPP_USERS_QUEUE } from '../../../worker/src/contracts/xmpp-user-jobs.js';

/** The worker's queues, as operators see them. */
export const QUEUE_NAMES = [PROVISIONING_QUEUE, XMPP_USERS_QUEUE] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];
export type JobQueues = Record<QueueName, Queue>;

/** How much work each queue holds; "waiting" includes a paused queue's and prioritized jobs. */
export async function queueDepths(queues: JobQueues) {
  return Promise.all(
    QUEUE_NAMES.map(async (name) => {
      const counts = await queues[name].getJobCounts('waiting', 'paused', 'prioritized', 'active', 'delayed', 'failed');
      const count = (state: string) => counts[state] ?? 0;
      return { name, waiting: count('waiting') + count('paused') + count('prioritized'), active: count('active'), delayed: count('delayed'), failed: count('failed') };
    }),
  );
}
