/** After a backup failed for good, the next try waits this long at most (less on a plan backing up more often). */
const RETRY_FAILED_AFTER_MS = 3_600_000;
const MINUTE_MS = 60_000;

export interface LatestBackup {
  status: string;
  requestedAt: Date;
  finishedAt: Date | null;
}

/** When the server's next scheduled backup is due, from its plan and its latest backup. */
export function nextBackupDue(server: { readyAt: Date; intervalMinutes: number; latest: LatestBackup | undefined }): Date | null {
  const intervalMs = server.intervalMinutes * MINUTE_MS;
  const { latest } = server;
  if (!latest) return new Date(server.readyAt.getTime() + intervalMs);
  if (latest.status === 'queued' || latest.status === 'running') return null;
  if (latest.status === 'failed') return new Date((latest.finishedAt ?? latest.requestedAt).getTime() + Math.min(intervalMs, RETRY_FAILED_AFTER_MS));
  return new Date(latest.requestedAt.getTime() + intervalMs);
}
