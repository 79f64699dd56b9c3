import type { Incident } from '../../../prisma/generated/client/client.js';
import { derivedMoveId } from '../moves/move-id.js';
import type { StepDeps } from '../provisioning/step-deps.js';
import { NoCapacityError } from '../provisioning/step-errors.js';
import { moveTarget } from '../provisioning/steps/allocate.step.js';
import type { WatchedServer } from './watched-server.js';

/**
 * A server whose node is down (its `node_down` incident open): it waits for the node, and once the
 * node has been down for the configured time it is restored on another node from its newest
 * backup (a `latest_backup` move, queued once per incident). Returns what it did, for the check's
 * result; the move's own steps show on the server's timeline.
 */
export async function afterNodeLoss(deps: StepDeps, server: WatchedServer, incident: Incident, now: Date, down: ReadonlySet<string>): Promise<string> {
  const waiting = `node ${server.nodeName} is down`;
  const after = deps.settings.nodeLossRestoreAfterMs;
  if (after <= 0) return `${waiting}: waiting for it, or for an operator to restore the server from its latest backup`;
  const due = new Date(incident.openedAt.getTime() + after);
  if (now < due) {
    await deps.jobs.enqueueHealthCheckAt(server.id, due);
    return `${waiting}: the server is restored from its latest backup at ${due.toISOString()} unless the node is back`;
  }
  const backup = await deps.prisma.serverBackup.findFirst({
    where: { serverId: server.id, status: 'succeeded', snapshotId: { not: null } },
    orderBy: { finishedAt: 'desc' },
    select: { finishedAt: true },
  });
  if (!backup) return `${waiting} and the server has no backup to restore: it comes back with its node`;
  let target: { id: string; name: string };
  try {
    target = await moveTarget(deps.prisma, server.id, down);
  } catch (error) {
    if (error instanceof NoCapacityError) return `${waiting} and no other node has room for the server: ${error.message}`;
    throw error;
  }
  await deps.jobs.enqueueMove({ serverId: server.id, nodeId: target.id, requestId: derivedMoveId(incident.id, server.id), from: 'latest_backup' });
  return `${waiting}: restoring the server on node ${target.name} from its backup of ${backup.finishedAt?.toISOString() ?? 'unknown time'}`;
}
