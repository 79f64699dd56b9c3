import { putCloneInPlace } from '../../backups/server-clone.js';
import { putSnapshotInPlace } from '../../backups/server-restore.js';
import { putImportInPlace } from '../../exports/server-import.js';
import { waitForServerAnswering } from '../server-answering.js';
import { buildServerSpec, installedSpec } from '../server-spec.js';
import type { StepDeps } from '../step-deps.js';
import { PermanentStepError } from '../step-errors.js';
import type { StepOutcome } from '../../jobs/tracked-step.js';

/** Where a container was started, and what it started on, in the timeline's words. */
interface Started {
  at: { host: string; c2sPort: number; domain: string };
  said: string;
  /** For a new container: the engine part's own parts, in ms (see `EnsurePhase`), and `spec` (its files and settings built from the database). */
  partsMs?: Record<string, number>;
}

/**
 * The `succeeded` event carries where the step's time went: `engineMs` until the engine started
 * the container (volumes, create, files, start, and for a restore, import or clone the data put in
 * place first), `answeringMs` and `answeringAttempts` from then until XMPP answered (Prosody's start).
 * For a new container `engineMs` is split further: `specMs`, `prepareMs`, `createMs`, `filesMs`, `startMs`.
 */
export async function containerStep(deps: StepDeps, serverId: string): Promise<StepOutcome> {
  const began = performance.now();
  const { restoreBackupId, importId, cloneBackupId } = await deps.prisma.server.findUniqueOrThrow({
    where: { id: serverId },
    select: { restoreBackupId: true, importId: true, cloneBackupId: true },
  });
  const started = restoreBackupId
    ? await restoreData(deps, serverId, restoreBackupId)
    : importId
      ? await importData(deps, serverId, importId)
      : cloneBackupId
        ? await cloneData(deps, serverId, cloneBackupId)
        : await newContainer(deps, serverId);
  const engineMs = Math.round(performance.now() - began);
  const { host, c2sPort, domain } = started.at;
  const answering = await waitForServerAnswering(deps.containers, { serverId, host, port: c2sPort, domain }, deps.settings.serviceStartTimeoutMs);
  // Cleared once XMPP answers: a retry before that puts the backup's data in place again.
  if (restoreBackupId) await deps.prisma.server.update({ where: { id: serverId }, data: { restoreBackupId: null } });
  return {
    message: `${started.said}; XMPP answers on ${host}:${c2sPort}`,
    detail: { engineMs, ...started.partsMs, answeringMs: answering.elapsedMs, answeringAttempts: answering.attempts },
  };
}

async function newContainer(deps: StepDeps, serverId: string): Promise<Started> {
  const began = performance.now();
  const { spec, host, c2sPort, domain } = await buildServerSpec(deps, serverId);
  const specMs = Math.round(performance.now() - began);
  const { containerId, reused, phasesMs } = await deps.containers.ensureServer(spec);
  await deps.prisma.server.update({ where: { id: serverId }, data: { containerId, ...installedSpec(spec) } });
  return {
    at: { host, c2sPort, domain },
    said: `${reused ? 'Container already running' : 'Container started'} (${containerId.slice(0, 12)})`,
    partsMs: { specMs, ...Object.fromEntries(Object.entries(phasesMs).map(([phase, ms]) => [`${phase}Ms`, ms])) },
  };
}

/** A deletion being undone: the container starts on the data of the deletion's final backup. */
async function restoreData(deps: StepDeps, serverId: string, backupId: string): Promise<Started> {
  const backup = await deps.prisma.serverBackup.findUnique({ where: { id: backupId } });
  if (backup?.status !== 'succeeded' || !backup.snapshotId) throw new PermanentStepError('The backup to bring the server back from is no longer there.');
  const at = await putSnapshotInPlace(deps, serverId, backup.snapshotId);
  return { at, said: `Container started on the data backed up at ${(backup.finishedAt ?? backup.requestedAt).toISOString()}` };
}

/** An order moving from another provider: the container starts on the users of its XEP-0227 file. */
async function importData(deps: StepDeps, serverId: string, importId: string): Promise<Started> {
  const { users, ...at } = await putImportInPlace(deps, serverId, importId);
  return { at, said: `Container started with the ${users} users of the imported file` };
}

/** An order cloning a backup of another server: the container starts on that data, moved to this domain. */
async function cloneData(deps: StepDeps, serverId: string, backupId: string): Promise<Started> {
  const at = await putCloneInPlace(deps, serverId, backupId);
  return { at, said: `Container started on a copy of the backed-up data, moved to ${at.domain}` };
}
