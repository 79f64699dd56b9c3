import { counted } from '../contracts/counted.js';
import type { StepDeps } from '../provisioning/step-deps.js';
import { serverSnapshotTag } from './server-snapshot.js';

/**
 * Deleted servers whose grace period is over: every snapshot of theirs is forgotten and pruned
 * from the repository, their rows marked so, and the server marked purged (its deletion can no
 * longer be undone).
 */
export async function purgeDeletedServers(deps: Pick<StepDeps, 'prisma' | 'backups'>, now: Date): Promise<string> {
  const due = await deps.prisma.server.findMany({ where: { state: 'deleted', purgedAt: null, purgeAfter: { lte: now } }, select: { id: true } });
  for (const { id } of due) {
    const snapshots = await deps.backups.snapshots(serverSnapshotTag(id));
    await deps.backups.forget(snapshots.map((snapshot) => snapshot.id));
    await deps.prisma.serverBackup.updateMany({ where: { serverId: id, status: { not: 'forgotten' } }, data: { status: 'forgotten' } });
    await deps.prisma.server.update({ where: { id }, data: { purgedAt: now } });
  }
  return `purged the backups of ${counted(due.length, 'deleted server')}`;
}
