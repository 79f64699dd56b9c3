import { counted } from '../contracts/counted.js';
import type { StepDeps } from '../provisioning/step-deps.js';
import { serverSnapshotTag } from './server-snapshot.js';

/**
 * The plan's retention for each server with a backup finished since its retention last ran and
 * more backups than the plan's last-N: restic forgets (and prunes) what the plan does not keep,
 * and those rows become `forgotten`, so the list never offers a backup that is not there. Apart
 * from the backups themselves, and one server at a time, because restic's forget locks the whole
 * repository. Under the server's lock: a restore reading a snapshot is never left without it.
 */
export async function applyBackupRetention(deps: Pick<StepDeps, 'prisma' | 'backups' | 'serverLock'>, now: Date): Promise<string> {
  const due = await deps.prisma.$queryRaw<{ id: string; last: number; daily: number; weekly: number }[]>`
    SELECT s.id, p.backup_keep_last AS last, p.backup_keep_daily AS daily, p.backup_keep_weekly AS weekly
    FROM servers s JOIN plans p ON p.id = s.plan_id
    WHERE s.purged_at IS NULL
      AND EXISTS (SELECT 1 FROM server_backups b WHERE b.server_id = s.id AND b.status = 'succeeded'
                  AND b.finished_at > coalesce(s.backups_pruned_at, '-infinity'::timestamptz))
      AND (SELECT count(*) FROM server_backups b WHERE b.server_id = s.id AND b.status = 'succeeded') > p.backup_keep_last`;
  let forgotten = 0;
  for (const { id, ...keep } of due) {
    forgotten += await deps.serverLock.run(id, async () => {
      const tag = serverSnapshotTag(id);
      await deps.backups.prune(tag, keep);
      const kept = (await deps.backups.snapshots(tag)).map((snapshot) => snapshot.id);
      const rows = await deps.prisma.serverBackup.findMany({ where: { serverId: id, status: 'succeeded' }, select: { id: true, snapshotId: true } });
      const gone = rows.filter((row) => !kept.some((snapshot) => row.snapshotId !== null && snapshot.startsWith(row.snapshotId)));
      const { count } = await deps.prisma.serverBackup.updateMany({ where: { id: { in: gone.map((row) => row.id) } }, data: { status: 'forgotten' } });
      await deps.prisma.server.update({ where: { id }, data: { backupsPrunedAt: now } });
      return count;
    });
  }
  return `retention: ${counted(due.length, 'server')} with new backups, ${counted(forgotten, 'backup')} forgotten`;
}
