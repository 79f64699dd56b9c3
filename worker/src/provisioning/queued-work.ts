import type { Queue } from 'bullmq';
import { PROVISION_STEPS, deprovisionJobId, stepJobId } from '../contracts/provisioning.js';
import type { QueuedWork } from './step-deps.js';

const FINISHED = new Set(['completed', 'failed']);

function jobIds(serverId: string, kind: 'provisioning' | 'deprovisioning'): string[] {
  return kind === 'deprovisioning' ? [deprovisionJobId(serverId)] : PROVISION_STEPS.map((step) => stepJobId(serverId, step));
}

/** What the queue holds for a server's order or deletion: something to run, only finished jobs, or nothing. */
export async function serverJobs(queue: Queue, serverId: string, kind: 'provisioning' | 'deprovisioning'): Promise<QueuedWork> {
  const states = await Promise.all(jobIds(serverId, kind).map((id) => queue.getJobState(id)));
  const present = states.filter((state) => state !== 'unknown');
  if (present.length === 0) return 'none';
  return present.every((state) => FINISHED.has(state)) ? 'finished' : 'pending';
}
