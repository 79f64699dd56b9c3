import type { NodeDrainJob } from '../contracts/provisioning.js';
import type { EventContext, Timeline } from '../provisioning/timeline.js';
import type { StepDeps } from '../provisioning/step-deps.js';
import { PermanentStepError } from '../provisioning/step-errors.js';
import { moveTarget } from '../provisioning/steps/allocate.step.js';
import { derivedMoveId } from './move-id.js';
import { moveServer } from './server-move.js';

/** Servers in these states can move; any other is left on the node and named. */
const MOVABLE = ['ready', 'stopped'];

/**
 * One round of draining a node: its oldest movable server moves to the active node with the fewest
 * servers, exactly as an operator's move (its timeline shows the move and its downtime), then the
 * next round is queued. One server at a time, so a node's servers are never all down at once. A
 * node made active again stops the drain; servers that cannot move now (being set up, failed,
 * being deleted) are named in the last round's result and stay.
 */
export async function drainNode(deps: StepDeps, timeline: Timeline, job: NodeDrainJob, context: EventContext): Promise<string> {
  const node = await deps.prisma.node.findUnique({ where: { id: job.nodeId } });
  if (!node) throw new PermanentStepError('The node being drained is no longer registered.');
  if (node.state !== 'draining') return `Node ${node.name} is ${node.state} again: the drain stopped.`;
  const remaining = await deps.prisma.server.findMany({
    where: { nodeId: node.id, deletedAt: null, desiredState: { not: 'deleted' } },
    orderBy: { createdAt: 'asc' },
    select: { id: true, domain: true, state: true },
  });
  const next = remaining.find((server) => MOVABLE.includes(server.state));
  if (!next) {
    if (remaining.length === 0) return `Node ${node.name} is drained: no server left on it.`;
    return `Node ${node.name} keeps ${remaining.length} server(s) that cannot move now: ${remaining.map((s) => `${s.domain} (${s.state})`).join(', ')}.`;
  }
  const target = await moveTarget(deps.prisma, next.id, await deps.containers.downNodes());
  await moveServer(deps, timeline, { serverId: next.id, nodeId: target.id, requestId: derivedMoveId(job.requestId, next.id), from: 'running' }, context);
  await deps.jobs.enqueueNodeDrain({ ...job, round: job.round + 1 });
  return `Moved ${next.domain} to node ${target.name}; ${remaining.length - 1} server(s) left on node ${node.name}.`;
}
