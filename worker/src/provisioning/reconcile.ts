import type { StepDeps } from './step-deps.js';

/**
 * Desired state against what is queued: an order whose flow was never added (the API crashed
 * between its commit and the enqueue, or Redis was lost) and a deletion whose removal was never
 * queued are queued now. Job ids are deterministic, so queueing what is already there adds nothing.
 */
export async function reconcile(deps: StepDeps, now = new Date()): Promise<string> {
  const before = new Date(now.getTime() - deps.settings.reconcileGraceMs);
  const [orders, deletions] = await Promise.all([
    deps.prisma.server.findMany({
      where: { state: 'ordered', desiredState: 'running', deletedAt: null, createdAt: { lte: before } },
      select: { id: true },
    }),
    deps.prisma.server.findMany({
      where: { desiredState: 'deleted', state: { notIn: ['deleted', 'deprovisioning'] }, updatedAt: { lte: before } },
      select: { id: true },
    }),
  ]);
  for (const server of orders) await deps.jobs.enqueueProvisioning(server.id);
  for (const server of deletions) await deps.jobs.enqueueDeprovisioning(server.id);
  return `${orders.length} order(s) and ${deletions.length} deletion(s) re-queued`;
}
