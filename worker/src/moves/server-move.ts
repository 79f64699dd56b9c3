import type { ServerMoveJob } from '../contracts/provisioning.js';
import { trackedStep, type StepFailure, type StepOutcome } from '../jobs/tracked-step.js';
import { takeServerBackup } from '../backups/server-backup.js';
import { putSnapshotInPlace } from '../backups/server-restore.js';
import { serverSnapshotTag } from '../backups/server-snapshot.js';
import { waitForServerAnswering } from '../provisioning/server-answering.js';
import type { StepDeps } from '../provisioning/step-deps.js';
import { PermanentStepError } from '../provisioning/step-errors.js';
import { serverDnsEntries, dnsStep } from '../provisioning/steps/dns.step.js';
import type { EventContext, Timeline } from '../provisioning/timeline.js';
import { assertPortsFree, transferPorts } from './port-transfer.js';

/**
 * Moves a server to another node: stopped on its node (XMPP goes down), its data backed up (the
 * backup row's id is the request's), its ports reserved on the target node instead, the data
 * restored into a new container there, DNS repointed (the old address and ports withdrawn) and
 * ready once XMPP answers. The `succeeded` event carries the downtime in ms as `downtimeMs`.
 * A retry resumes where the last attempt stopped: before the ports moved it backs up again (a
 * finished backup is adopted), after it only restores and repoints.
 * From `latest_backup` (the server's node is lost): nothing on the old node is touched and no
 * backup is taken; the newest backup that succeeded is restored, and the event names it
 * (`restoredBackupId`, `backupTakenAt`): what changed after it is not on the new node.
 */
export async function moveServer(deps: StepDeps, timeline: Timeline, job: ServerMoveJob, context: EventContext): Promise<string> {
  const target = await deps.prisma.node.findUnique({ where: { id: job.nodeId } });
  if (!target) throw new PermanentStepError('The node to move the server to is not registered.');
  const source = (await deps.prisma.server.findUniqueOrThrow({ where: { id: job.serverId }, include: { node: true } })).node;
  return trackedStep(
    {
      timeline,
      serverId: job.serverId,
      step: 'move',
      title: `Move the server to another machine (node ${target.name})`,
      context: { ...context, detail: { fromNode: source?.name ?? null, toNode: target.name } },
      onFailure: (failure) => afterFailedMove(deps, timeline, job, failure),
    },
    () => deps.serverLock.run(job.serverId, () => (job.from === 'latest_backup' ? rescue(deps, timeline, job, target) : move(deps, timeline, job, target))),
  );
}

interface MoveTarget {
  id: string;
  name: string;
  state: string;
}

async function move(deps: StepDeps, timeline: Timeline, job: ServerMoveJob, target: MoveTarget): Promise<StepOutcome> {
  const { serverId, requestId } = job;
  const server = await deps.prisma.server.findUniqueOrThrow({ where: { id: serverId }, include: { node: true } });
  if (server.deletedAt || server.desiredState === 'deleted') throw new PermanentStepError('The server is being deleted; it is not moved.');
  let carrier = await deps.prisma.serverBackup.findUnique({ where: { id: requestId } });
  const fromNode = server.node?.name ?? null;
  if (server.nodeId !== target.id) {
    if (target.state !== 'active') throw new PermanentStepError(`Node ${target.name} takes no servers (it is ${target.state}).`);
    if (!['ready', 'stopped', 'moving'].includes(server.state)) throw new PermanentStepError(`The server is ${server.state}; only a server that is ready or stopped can move.`);
    await assertPortsFree(deps.prisma, target.id, await deps.containers.publishedHostPorts());
    // Nothing stops while the repository cannot take the backup: this attempt fails first.
    await deps.backups.snapshots(serverSnapshotTag(serverId));
    await timeline.setState(serverId, 'moving');
    carrier ??= await deps.prisma.serverBackup.create({ data: { id: requestId, serverId, kind: 'move' } });
    if ((await deps.containers.listOwned(serverId)).containers.length > 0) await deps.containers.stopServer(serverId);
    await takeServerBackup(deps, requestId);
    await transferPorts(deps.prisma, serverId, target.id, () => deps.containers.publishedHostPorts());
  } else if (!carrier) {
    throw new PermanentStepError(`The server already runs on node ${target.name}.`);
  }
  const backup = await deps.prisma.serverBackup.findUniqueOrThrow({ where: { id: requestId } });
  if (backup.status !== 'succeeded' || !backup.snapshotId) throw new Error(`the move's backup ${requestId} is ${backup.status}`);
  const started = await startThere(deps, timeline, serverId, backup.snapshotId);
  const detail = { fromNode, toNode: target.name, withdrawnRecords: started.withdrawn };
  if (!started.running) return { message: `Moved to node ${target.name} and left stopped, as you asked; DNS points there.`, detail: { ...detail, downtimeMs: null } };
  // The backup starts right after the stop (at each attempt that takes it).
  const downtimeMs = Date.now() - (backup.startedAt ?? backup.requestedAt).getTime();
  return { message: `Moved to node ${target.name}; XMPP answers there again after ${(downtimeMs / 1000).toFixed(1)} s down.`, detail: { ...detail, downtimeMs } };
}

/** Starts the server on a node in place of one that is lost, from its newest backup. */
async function rescue(deps: StepDeps, timeline: Timeline, job: ServerMoveJob, target: MoveTarget): Promise<StepOutcome> {
  const { serverId } = job;
  const server = await deps.prisma.server.findUniqueOrThrow({ where: { id: serverId }, include: { node: true } });
  if (server.deletedAt || server.desiredState === 'deleted') throw new PermanentStepError('The server is being deleted; it is not restored elsewhere.');
  // Newest first by when the copy was made; a retry after the ports moved finds the same one.
  const backup = await deps.prisma.serverBackup.findFirst({ where: { serverId, status: 'succeeded', snapshotId: { not: null } }, orderBy: { startedAt: 'desc' } });
  if (!backup?.snapshotId) throw new PermanentStepError('The server has no backup to restore from: it can only come back with its old node.');
  const fromNode = server.node?.name ?? null;
  if (server.nodeId !== target.id) {
    if (target.state !== 'active') throw new PermanentStepError(`Node ${target.name} takes no servers (it is ${target.state}).`);
    await assertPortsFree(deps.prisma, target.id, await deps.containers.publishedHostPorts());
    // The repository must answer before anything changes: the backup is the only copy there is.
    await deps.backups.snapshots(serverSnapshotTag(serverId));
    await timeline.setState(serverId, 'moving');
    await transferPorts(deps.prisma, serverId, target.id, () => deps.containers.publishedHostPorts());
  }
  const started = await startThere(deps, timeline, serverId, backup.snapshotId);
  const backupTakenAt = (backup.startedAt ?? backup.requestedAt).toISOString();
  const detail = { fromNode, toNode: target.name, withdrawnRecords: started.withdrawn, restoredBackupId: backup.id, backupTakenAt, downtimeMs: null };
  const state = started.running ? 'XMPP answers there' : 'left stopped, as you asked';
  return { message: `Restored on node ${target.name} from the backup of ${backupTakenAt} (changes after it are not in it); ${state}.`, detail };
}

/**
 * Restores the snapshot into the server's new container on its new node, repoints DNS (withdrawing
 * the old node's values) and sets the state its owner wants: ready once XMPP answers, or stopped.
 */
async function startThere(deps: StepDeps, timeline: Timeline, serverId: string, snapshotId: string): Promise<{ running: boolean; withdrawn: number }> {
  const { host, c2sPort, domain } = await putSnapshotInPlace(deps, serverId, snapshotId);
  const repoint = async () => {
    await dnsStep(deps, serverId);
    return deps.ledger.withdrawStale({ serverId }, (await serverDnsEntries(deps, serverId)).entries);
  };
  const { desiredState } = await deps.prisma.server.findUniqueOrThrow({ where: { id: serverId }, select: { desiredState: true } });
  if (desiredState === 'stopped') {
    const withdrawn = await repoint();
    await deps.containers.stopServer(serverId);
    await timeline.setState(serverId, 'stopped');
    return { running: false, withdrawn };
  }
  // DNS propagates while Prosody starts: the downtime is the longer of the two, not their sum.
  const [withdrawn] = await Promise.all([repoint(), waitForServerAnswering(deps.containers, { serverId, host, port: c2sPort, domain }, deps.settings.serviceStartTimeoutMs)]);
  await timeline.setState(serverId, 'ready');
  return { running: true, withdrawn };
}

/**
 * A move that fails before the server left its node starts it again there, as it was (a retry
 * stops it again): customers are not left without their server while the worker waits to retry.
 * A restore from the latest backup that fails leaves the server as it was until it fails for good.
 * One that fails for good after leaves it failed (its data is in the move's backup, for a retry
 * of the move or a restore). A deletion under way owns the state.
 */
async function afterFailedMove(deps: StepDeps, timeline: Timeline, job: ServerMoveJob, failure: StepFailure): Promise<void> {
  const server = await deps.prisma.server.findUniqueOrThrow({ where: { id: job.serverId } });
  if (server.desiredState === 'deleted' || server.state !== 'moving') return;
  // A lost node is not asked to start anything.
  if (job.from === 'running' && server.nodeId !== job.nodeId && (await deps.containers.listOwned(job.serverId)).containers.length > 0) {
    if (server.desiredState === 'running') await deps.containers.startServer(job.serverId);
    await timeline.setState(job.serverId, server.desiredState === 'running' ? 'ready' : 'stopped');
    return;
  }
  if (!failure.willRetry) await timeline.setState(job.serverId, 'failed', { text: failure.reason, errorType: failure.errorType });
}
