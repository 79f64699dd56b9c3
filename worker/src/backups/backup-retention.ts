import { counted } from '../contracts/counted.js';
import type { StepDeps } from '../provisioning/step-deps.js';
import { serverSnapshotTag } from './server-snapshot.js';

/**
 * The plan's retention for each server holding more backups than the plan could keep: restic
 * forgets (and prunes) the rest, and their rows become `forgotten`, so the list never offers a
 * backup that is not there. Apart from the backups themselves, and one server at a time, because
 * restic's forget locks the whole repository. Under the server's lock: a restore reading a
 * snapshot is never left without it.
 */
export async function applyBackupRetention(deps: Pick<StepDeps, 'prisma' | 'backups' | 'serverLock'>): Promise<string> {
  const servers = await deps.prisma.server.findMany({
    select: { id: true, plan: { select: { backupKeepLast: true, backupKeepDaily: true, backupKeepWeekly: true } }, _count: { select: { backups: { where: { status: 'succeeded' } } } } },
  });
  const over = servers.filter(({ plan, _count }) => _count.backups > plan.backupKeepLast + plan.backupKeepDaily + plan.backupKeepWeekly);
  let forgotten = 0;
  for (const { id, plan } of over) {
    forgotten += await deps.serverLock.run(id, async () => {
      const tag = serverSnapshotTag(id);
      await deps.backups.prune(tag, { last: plan.backupKeepLast, daily: plan.backupKeepDaily, weekly: plan.backupKeepWeekly });
      const kept = (await deps.backups.snapshots(tag)).map((snapshot) => snapshot.id);
      const { count } = await deps.prisma.serverBackup.updateMany({ where: { serverId: id, status: 'succeeded', snapshotId: { notIn: kept } }, data: { status: 'forgotten' } });
      return count;
    });
  }
  return `retention: ${counted(over.length, 'server')} over their plan's count, ${counted(forgotten, 'backup')} forgotten`;
}
