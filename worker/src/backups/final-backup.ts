import type { StepDeps } from '../provisioning/step-deps.js';
import { takeServerBackup } from './server-backup.js';

/**
 * Before a deletion removes the data: one last backup, kept for the grace period, from which the
 * deletion can be undone. Its row is recorded on the server first, so a retried deletion takes
 * the same backup (adopting a snapshot made before a crash) instead of another.
 */
export async function keepFinalBackup(deps: StepDeps, serverId: string): Promise<string> {
  if (deps.settings.deletionGraceMs === 0) return 'No final backup (the grace period is off)';
  // A container removed by a crash leaves the data volume: that is backed up all the same.
  if ((await deps.containers.listOwned(serverId)).volumes.length === 0) return 'No final backup (the server had no data on its machine)';
  const backupId = await deps.prisma.$transaction(async (tx) => {
    const server = await tx.server.findUniqueOrThrow({ where: { id: serverId }, select: { finalBackupId: true } });
    if (server.finalBackupId) return server.finalBackupId;
    const row = await tx.serverBackup.create({ data: { serverId, kind: 'final' } });
    await tx.server.update({ where: { id: serverId }, data: { finalBackupId: row.id } });
    return row.id;
  });
  try {
    await deps.serverLock.run(serverId, () => takeServerBackup(deps, backupId));
  } catch (error) {
    await deps.prisma.serverBackup.update({ where: { id: backupId }, data: { status: 'queued' } });
    throw error;
  }
  const days = Math.round(deps.settings.deletionGraceMs / 86_400_000);
  return `Kept a final backup for ${days} day${days === 1 ? '' : 's'}`;
}
