import { putCloneInPlace } from '../../backups/server-clone.js';
import { putSnapshotInPlace } from '../../backups/server-restore.js';
import { putImportInPlace } from '../../exports/server-import.js';
import { waitForServerAnswering } from '../server-answering.js';
import { buildServerSpec, installedSpec } from '../server-spec.js';
import type { StepDeps } from '../step-deps.js';
import { PermanentStepError } from '../step-errors.js';

export async function containerStep(deps: StepDeps, serverId: string): Promise<string> {
  const { restoreBackupId, importId, cloneBackupId } = await deps.prisma.server.findUniqueOrThrow({
    where: { id: serverId },
    select: { restoreBackupId: true, importId: true, cloneBackupId: true },
  });
  if (restoreBackupId) return restoreStep(deps, serverId, restoreBackupId);
  if (importId) return importStep(deps, serverId, importId);
  if (cloneBackupId) return cloneStep(deps, serverId, cloneBackupId);
  const { spec, host, c2sPort, domain } = await buildServerSpec(deps, serverId);
  const { containerId, reused } = await deps.containers.ensureServer(spec);
  await deps.prisma.server.update({ where: { id: serverId }, data: { containerId, ...installedSpec(spec) } });
  await waitForServerAnswering(deps.containers, { serverId, host, port: c2sPort, domain }, deps.settings.serviceStartTimeoutMs);
  return `${reused ? 'Container already running' : 'Container started'} (${containerId.slice(0, 12)}); XMPP answers on ${host}:${c2sPort}`;
}

/** A deletion being undone: the container starts on the data of the deletion's final backup. */
async function restoreStep(deps: StepDeps, serverId: string, backupId: string): Promise<string> {
  const backup = await deps.prisma.serverBackup.findUnique({ where: { id: backupId } });
  if (backup?.status !== 'succeeded' || !backup.snapshotId) throw new PermanentStepError('The backup to bring the server back from is no longer there.');
  const { host, c2sPort, domain } = await putSnapshotInPlace(deps, serverId, backup.snapshotId);
  await waitForServerAnswering(deps.containers, { serverId, host, port: c2sPort, domain }, deps.settings.serviceStartTimeoutMs);
  await deps.prisma.server.update({ where: { id: serverId }, data: { restoreBackupId: null } });
  return `Container started on the data backed up at ${(backup.finishedAt ?? backup.requestedAt).toISOString()}; XMPP answers on ${host}:${c2sPort}`;
}

/** An order moving from another provider: the container starts on the users of its XEP-0227 file. */
async function importStep(deps: StepDeps, serverId: string, importId: string): Promise<string> {
  const { host, c2sPort, domain, users } = await putImportInPlace(deps, serverId, importId);
  await waitForServerAnswering(deps.containers, { serverId, host, port: c2sPort, domain }, deps.settings.serviceStartTimeoutMs);
  return `Container started with the ${users} users of the imported file; XMPP answers on ${host}:${c2sPort}`;
}

/** An order cloning a backup of another server: the container starts on that data, moved to this domain. */
async function cloneStep(deps: StepDeps, serverId: string, backupId: string): Promise<string> {
  const { host, c2sPort, domain } = await putCloneInPlace(deps, serverId, backupId);
  await waitForServerAnswering(deps.containers, { serverId, host, port: c2sPort, domain }, deps.settings.serviceStartTimeoutMs);
  return `Container started on a copy of the backed-up data, moved to ${domain}; XMPP answers on ${host}:${c2sPort}`;
}
