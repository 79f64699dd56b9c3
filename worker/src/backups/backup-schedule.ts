import { counted } from '../contracts/counted.js';
import type { StepDeps } from '../provisioning/step-deps.js';
import { nextBackupDue } from '../contracts/backup-due.js';
import { applyBackupRetention } from './backup-retention.js';
import { purgeDeletedServers } from './deleted-server-purge.js';
import { purgeExpiredExports } from '../exports/expired-exports.js';

/**
 * The scheduler's tick: a backup row for every live server whose plan's interval has passed
 * since its last backup (a new server: since it became ready), and a job for it. Rows still
 * queued get their job again: the enqueue is idempotent, so a row whose enqueue was lost (Redis
 * down at the moment) is not left waiting for ever. Then the plans' retention, and the purge of
 * deleted servers whose grace period is over, and of expired exports and imports.
 */
export async function scheduleDueBackups(deps: Pick<StepDeps, 'prisma' | 'jobs' | 'backups' | 'serverLock'>, now: Date): Promise<string> {
  const servers = await deps.prisma.server.findMany({
    where: { deletedAt: null, desiredState: { not: 'deleted' }, state: { in: ['ready', 'stopped'] }, readyAt: { not: null } },
    select: {
      id: true,
      readyAt: true,
      plan: { select: { backupIntervalMinutes: true } },
      backups: { where: { kind: { not: 'safety' } }, orderBy: { requestedAt: 'desc' }, take: 1, select: { status: true, requestedAt: true, finishedAt: true } },
    },
  });
  const due = servers.filter((server) => {
    const at = nextBackupDue({ readyAt: server.readyAt ?? now, intervalMinutes: server.plan.backupIntervalMinutes, latest: server.backups[0] });
    return at !== null && at <= now;
  });
  const created = due.length === 0 ? [] : await deps.prisma.serverBackup.createManyAndReturn({ data: due.map((server) => ({ serverId: server.id, kind: 'scheduled' as const })), select: { id: true } });
  const queued = await deps.prisma.serverBackup.findMany({ where: { status: 'queued', server: { deletedAt: null } }, select: { id: true, serverId: true } });
  for (const backup of queued) await deps.jobs.enqueueBackup({ serverId: backup.serverId, backupId: backup.id });
  const retention = await applyBackupRetention(deps, now);
  const purged = await purgeDeletedServers(deps, now);
  const expired = await purgeExpiredExports(deps, now);
  return `${counted(created.length, 'backup')} due; ${counted(queued.length, 'queued backup')} handed to the workers; ${retention}; ${purged}; ${expired}`;
}
