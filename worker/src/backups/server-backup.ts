import { tarFileEntry } from '../archive/ustar.js';
import { PermanentStepError } from '../provisioning/step-errors.js';
import { rowAfterFailure, trackedStep } from '../jobs/tracked-step.js';
import type { StepDeps } from '../provisioning/step-deps.js';
import type { EventContext, Timeline } from '../provisioning/timeline.js';
import { backupSnapshotTag, SERVER_DATA_FILE, SERVER_METADATA_ENTRY, serverSnapshotTag, type ServerSnapshotMetadata } from './server-snapshot.js';

type BackupDeps = Pick<StepDeps, 'prisma' | 'containers' | 'backups' | 'settings'>;

const short = (snapshotId: string | null) => (snapshotId ?? '').slice(0, 8);

/**
 * Takes backup row `backupId`: the server's data volume (frozen while it is read) into one
 * snapshot tagged with the server and the row. Idempotent:
 * a retry after a crash adopts the snapshot an earlier run made instead of taking a second.
 * The caller holds the server's lock, so no repair or action restarts the container meanwhile.
 */
export async function takeServerBackup(deps: BackupDeps, backupId: string): Promise<string> {
  const backup = await deps.prisma.serverBackup.findUniqueOrThrow({ where: { id: backupId }, include: { server: { include: { plan: true, node: true } } } });
  if (backup.status === 'succeeded' || backup.status === 'forgotten') return `Already backed up: snapshot ${short(backup.snapshotId)}`;
  const { server } = backup;
  // Only the deletion's own backup runs once the server is being deleted.
  if ((server.deletedAt || server.desiredState === 'deleted') && backup.kind !== 'final') throw new PermanentStepError('The server was deleted before its backup ran.');
  await deps.prisma.serverBackup.update({ where: { id: backupId }, data: { status: 'running', startedAt: new Date(), attempts: { increment: 1 } } });
  // Creates the repository if it could not be made when the worker started.
  await deps.backups.open();
  // Only a retry can find a snapshot of its own: a first attempt saves the repository a lookup.
  const adopted = backup.attempts === 0 ? undefined : (await deps.backups.snapshots(backupSnapshotTag(backupId)))[0];
  let frozenMs: number | null = null;
  const saved = adopted
    ? { snapshotId: adopted.id, bytes: null, bytesAdded: null }
    : await deps.backups.backupStream({
        filename: SERVER_DATA_FILE,
        tags: [serverSnapshotTag(server.id), backupSnapshotTag(backupId)],
        produce: async (sink) => {
          const metadata: ServerSnapshotMetadata = {
            format: 1,
            serverId: server.id,
            name: server.name,
            domain: server.domain,
            federation: server.federation,
            plan: server.plan.code,
            node: server.node?.name ?? null,
            takenAt: new Date().toISOString(),
          };
          sink.write(tarFileEntry(SERVER_METADATA_ENTRY, Buffer.from(JSON.stringify(metadata)), { mode: 0o600, uid: 0, gid: 0 }));
          ({ frozenMs } = await deps.containers.exportData(server.id, sink, deps.settings.prosodyImage));
        },
      });
  await deps.prisma.serverBackup.update({
    where: { id: backupId },
    data: {
      status: 'succeeded',
      snapshotId: saved.snapshotId,
      sizeBytes: saved.bytes === null ? null : BigInt(saved.bytes),
      addedBytes: saved.bytesAdded === null ? null : BigInt(saved.bytesAdded),
      pausedMs: frozenMs,
      lastError: null,
      lastErrorType: null,
      finishedAt: new Date(),
    },
  });
  const size = saved.bytes === null ? 'taken by an earlier attempt' : `${saved.bytes} bytes read, ${saved.bytesAdded} new in the repository, the server paused ${frozenMs} ms`;
  return `Backed up the server's data: snapshot ${short(saved.snapshotId)} (${size})`;
}

/** The backup job: one tracked step on the server's timeline, under the server's lock. */
export function runServerBackup(deps: StepDeps, timeline: Timeline, job: { serverId: string; backupId: string }, context: EventContext): Promise<string> {
  return trackedStep(
    {
      timeline,
      serverId: job.serverId,
      step: 'backup',
      title: "Back up the server's data",
      context: { ...context, detail: { backupId: job.backupId } },
      // Before the failure is recorded, so whoever lists the backups finds it said there too.
      onFailure: async (failure) => {
        await deps.prisma.serverBackup.update({ where: { id: job.backupId }, data: rowAfterFailure(failure) });
      },
    },
    () => deps.serverLock.run(job.serverId, () => takeServerBackup(deps, job.backupId)),
  );
}
