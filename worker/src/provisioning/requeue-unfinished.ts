import { ORDERING_STATES } from '../contracts/provisioning.js';
import type { StepDeps } from './step-deps.js';
import { requeueAccountRequests } from './requeue-account-requests.js';

/**
 * Desired state against what is queued. Unqueued: an order whose flow was never added (the API
 * crashed between its commit and the enqueue, or Redis was lost), a deletion never queued, a user
 * or invite request likewise; each is queued once older than the grace period. Stuck: an order or
 * a deletion unfinished for longer than `stuckAfterMs` with no job waiting or running for it (its
 * jobs failed for good, or were lost) is queued again.
 */
export async function requeueUnfinished(deps: StepDeps, now = new Date()): Promise<string> {
  const before = new Date(now.getTime() - deps.settings.reconcileGraceMs);
  const stuckBefore = new Date(now.getTime() - deps.settings.stuckAfterMs);
  const [orders, deletions, stuckOrders, stuckDeletions] = await Promise.all([
    deps.prisma.server.findMany({
      where: { state: 'ordered', desiredState: 'running', deletedAt: null, createdAt: { lte: before } },
      select: { id: true },
    }),
    deps.prisma.server.findMany({
      where: { desiredState: 'deleted', state: { notIn: ['deleted', 'deprovisioning'] }, updatedAt: { lte: before } },
      select: { id: true },
    }),
    deps.prisma.server.findMany({
      where: { state: { in: ORDERING_STATES }, desiredState: { not: 'deleted' }, deletedAt: null, stateChangedAt: { lte: stuckBefore } },
      select: { id: true },
    }),
    deps.prisma.server.findMany({
      where: { desiredState: 'deleted', state: { not: 'deleted' }, stateChangedAt: { lte: stuckBefore }, updatedAt: { lte: stuckBefore } },
      select: { id: true },
    }),
  ]);
  for (const server of orders) await deps.jobs.enqueueProvisioning(server.id);
  let unqueuedDeletions = 0;
  for (const server of deletions) {
    // Only one never queued: a failed deletion is the stuck check's, once it is old enough.
    if ((await deps.jobs.serverJobs(server.id, 'deprovisioning')) !== 'none') continue;
    await deps.jobs.enqueueDeprovisioning(server.id);
    unqueuedDeletions += 1;
  }
  let restartedOrders = 0;
  for (const server of stuckOrders) {
    if ((await deps.jobs.serverJobs(server.id, 'provisioning')) === 'pending') continue;
    await deps.jobs.restartProvisioning(server.id);
    restartedOrders += 1;
  }
  let restartedDeletions = 0;
  for (const server of stuckDeletions) {
    if ((await deps.jobs.serverJobs(server.id, 'deprovisioning')) === 'pending') continue;
    await deps.jobs.enqueueDeprovisioning(server.id);
    restartedDeletions += 1;
  }
  const accounts = await requeueAccountRequests(deps, before);
  return (
    `${orders.length} order(s) and ${unqueuedDeletions} deletion(s) queued; ${restartedOrders} stuck order(s) and ` +
    `${restartedDeletions} stuck deletion(s) re-queued; ${accounts.users} user and ${accounts.invites} invite request(s) queued`
  );
}
