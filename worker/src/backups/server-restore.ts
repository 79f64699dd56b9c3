import { Readable } from 'node:stream';
import { afterFirstEntry } from '../archive/ustar.js';
import type { ServerRestoreJob } from '../contracts/provisioning.js';
import { trackedStep } from '../jobs/tracked-step.js';
import { waitForServerAnswering } from '../provisioning/server-answering.js';
import { adminAccountStep } from '../provisioning/steps/admin-account.step.js';
import { buildServerSpec, installedSpec } from '../provisioning/server-spec.js';
import type { StepDeps } from '../provisioning/step-deps.js';
import { PermanentStepError } from '../provisioning/step-errors.js';
import type { EventContext, Timeline } from '../provisioning/timeline.js';
import { takeServerBackup } from './server-backup.js';
import { SERVER_DATA_FILE, SERVER_METADATA_ENTRY, serverSnapshotMetadataSchema } from './server-snapshot.js';

/**
 * Puts a backup's data back on its server: a safety backup of the data as it is now first (so
 * the restore itself can be undone), then the container recreated on a new data volume holding
 * the snapshot, started, and ready once XMPP answers. The server is `restoring` meanwhile.
 */
export async function restoreServer(deps: StepDeps, timeline: Timeline, job: ServerRestoreJob, context: EventContext): Promise<string> {
  const backup = await deps.prisma.serverBackup.findUnique({ where: { id: job.backupId } });
  if (!backup || backup.serverId !== job.serverId || backup.status !== 'succeeded' || !backup.snapshotId) {
    throw new PermanentStepError('This backup cannot be restored: it is not a finished backup of this server that the repository still holds.');
  }
  const snapshotId = backup.snapshotId;
  const taken = (backup.finishedAt ?? backup.requestedAt).toISOString();
  return trackedStep(
    {
      timeline,
      serverId: job.serverId,
      step: 'restore',
      title: `Restore the data backed up at ${taken}`,
      context: { ...context, detail: { backupId: job.backupId } },
      onFailure: async (failure) => {
        if (failure.willRetry) return;
        // A deletion under way owns the state from here on.
        const { desiredState } = await deps.prisma.server.findUniqueOrThrow({ where: { id: job.serverId }, select: { desiredState: true } });
        if (desiredState !== 'deleted') await timeline.setState(job.serverId, 'failed', { text: failure.reason, errorType: failure.errorType });
      },
    },
    () =>
      deps.serverLock.run(job.serverId, async () => {
        const server = await deps.prisma.server.findUniqueOrThrow({ where: { id: job.serverId } });
        if (server.deletedAt || server.desiredState === 'deleted') throw new PermanentStepError('The server is being deleted; it can no longer be restored.');
        await timeline.setState(job.serverId, 'restoring');
        const safety = await safetyBackup(deps, job);
        const { host, c2sPort, domain } = await putSnapshotInPlace(deps, job.serverId, snapshotId);
        await waitForServerAnswering(deps.containers, { serverId: job.serverId, host, port: c2sPort, domain }, deps.settings.serviceStartTimeoutMs);
        // The data may predate the admin password Parley holds (a reset since): it is set again.
        await adminAccountStep(deps, job.serverId);
        const desired = (await deps.prisma.server.findUniqueOrThrow({ where: { id: job.serverId }, select: { desiredState: true } })).desiredState;
        if (desired === 'stopped') {
          await deps.containers.stopServer(job.serverId);
          await timeline.setState(job.serverId, 'stopped');
          return `Restored the data of ${taken} (left stopped, as you asked); ${safety}`;
        }
        await timeline.setState(job.serverId, 'ready');
        return `Restored the data of ${taken}; XMPP answers again. ${safety}`;
      }),
  );
}

/**
 * Replaces the server's data with a snapshot of its own (the metadata entry must name it) on a
 * new container and data volume, and records the container; resolves with where XMPP answers.
 */
export async function putSnapshotInPlace(deps: StepDeps, serverId: string, snapshotId: string): Promise<{ host: string; c2sPort: number; domain: string }> {
  const { spec, host, c2sPort, domain } = await buildServerSpec(deps, serverId);
  await readSnapshotData(deps, snapshotId, serverId, async (data) => {
    const { containerId } = await deps.containers.replaceData(spec, data);
    await deps.prisma.server.update({ where: { id: serverId }, data: { containerId, ...installedSpec(spec) } });
  });
  return { host, c2sPort, domain };
}

/**
 * Hands `consume` the data directory a snapshot holds (a tar stream), once its metadata entry
 * proves it is server `ownerId`'s; otherwise nothing is read further.
 */
export async function readSnapshotData(deps: Pick<StepDeps, 'backups'>, snapshotId: string, ownerId: string, consume: (data: Readable) => Promise<void>): Promise<void> {
  await deps.backups.dump({
    snapshotId,
    filename: SERVER_DATA_FILE,
    consume: (source) =>
      consume(
        Readable.from(
          afterFirstEntry(source, (name, content) => {
            const metadata = name === SERVER_METADATA_ENTRY ? serverSnapshotMetadataSchema.safeParse(JSON.parse(content.toString('utf8'))) : undefined;
            if (!metadata?.success || metadata.data.serverId !== ownerId) throw new PermanentStepError(`Snapshot ${snapshotId.slice(0, 8)} does not hold this server's data.`);
          }),
        ),
      ),
  });
}

/**
 * The data as it is before the restore, under a backup row whose id is the restore request's:
 * a retried restore finds it done instead of taking a second (of the data it already replaced).
 */
async function safetyBackup(deps: StepDeps, job: ServerRestoreJob): Promise<string> {
  if ((await deps.containers.listOwned(job.serverId)).containers.length === 0) return 'No safety backup: the server had no container, so no data to keep.';
  await deps.prisma.serverBackup.upsert({ where: { id: job.requestId }, create: { id: job.requestId, serverId: job.serverId, kind: 'safety' }, update: {} });
  await takeServerBackup(deps, job.requestId);
  return 'The data as it was before is kept as a safety backup.';
}
