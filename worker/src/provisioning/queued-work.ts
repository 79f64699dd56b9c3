import type { FlowProducer, Queue } from 'bullmq';
import { PROVISION_STEPS, deprovisionJobId, stepJobId } from '../contracts/provisioning.js';
import { enqueueProvisioning } from '../contracts/provisioning-flow.js';
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

/**
 * The flow's ids are deterministic and finished jobs are kept for days, so adding the flow over
 * them would add nothing: they are removed first, root first (removing a parent takes its
 * children too; `remove` answers 0 for one already gone).
 */
export async function restartProvisioning(queue: Queue, flows: FlowProducer, serverId: string): Promise<void> {
  for (const id of jobIds(serverId, 'provisioning').reverse()) await queue.remove(id);
  await enqueueProvisioning(flows, serverId);
}
