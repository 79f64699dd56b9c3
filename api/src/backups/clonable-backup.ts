import type { Tx } from '../audit/change-runner.js';
import { HttpProblem } from '../http/problem.js';

/** An order's `cloneFromBackupId`: a finished backup, still in the repository, of a server of the same account. */
export async function requireClonableBackup(tx: Tx, accountId: string, backupId: string): Promise<void> {
  const backup = await tx.serverBackup.findFirst({ where: { id: backupId, server: { accountId } }, select: { status: true, serverId: true } });
  const field = (message: string) => ({ errors: [{ in: 'body', field: 'cloneFromBackupId', message }] });
  if (!backup) {
    throw new HttpProblem(400, 'Unknown backup', `You have no backup with id ${backupId}; list a server's with GET /api/v1/servers/{serverId}/backups.`, field('must be a backup of one of your servers'));
  }
  if (backup.status !== 'succeeded') {
    throw new HttpProblem(
      409,
      'Not clonable',
      `This backup is ${backup.status}; only a finished backup can be cloned. Pick one with status "succeeded" from GET /api/v1/servers/${backup.serverId}/backups.`,
      field('must be a finished backup'),
    );
  }
}
