import { Readable } from 'node:stream';
import { readBounded, TooLargeError } from '../archive/read-bounded.js';
import { buildServerSpec, installedSpec } from '../provisioning/server-spec.js';
import type { StepDeps } from '../provisioning/step-deps.js';
import { PermanentStepError } from '../provisioning/step-errors.js';
import { rehostData } from './rehost-data.js';
import { readSnapshotData } from './server-restore.js';

/** The most data a clone holds in memory while it renames the domain in it. */
const MAX_CLONE_BYTES = 1024 * 1024 * 1024;

async function collect(source: Readable): Promise<Buffer> {
  try {
    return await readBounded(source as AsyncIterable<Buffer>, MAX_CLONE_BYTES);
  } catch (error) {
    if (error instanceof TooLargeError) throw new PermanentStepError(`The backup's data is larger than ${error.limit} bytes, more than a clone can take.`);
    throw error;
  }
}

/**
 * A new server ordered as a clone of another server's backup: the backup's data, moved to this
 * server's domain (rehostData), becomes the data of its new container before its first start,
 * and the source's users get user rows here too. The source server is not touched. Resolves with
 * where XMPP will answer. Idempotent until the server's cloneBackupId is cleared.
 */
export async function putCloneInPlace(deps: StepDeps, serverId: string, backupId: string): Promise<{ host: string; c2sPort: number; domain: string }> {
  const [clone, backup] = await Promise.all([
    deps.prisma.server.findUniqueOrThrow({ where: { id: serverId } }),
    deps.prisma.serverBackup.findUnique({ where: { id: backupId }, include: { server: true } }),
  ]);
  if (backup?.status !== 'succeeded' || !backup.snapshotId) throw new PermanentStepError('The backup to clone is no longer there (retention removed it, or its server was purged); order the clone from a newer backup.');
  if (backup.server.accountId !== clone.accountId) throw new PermanentStepError('The backup to clone belongs to another account.');
  const { spec, host, c2sPort, domain } = await buildServerSpec(deps, serverId);
  let data: Buffer | undefined;
  await readSnapshotData(deps, backup.snapshotId, backup.serverId, async (source) => {
    data = await collect(source);
  });
  if (!data) throw new Error(`snapshot ${backup.snapshotId} gave no data`);
  const { containerId } = await deps.containers.replaceData(spec, Readable.from([rehostData(data, backup.server.domain, domain)]));
  // The source's users as they are now; the account census corrects for any the backup predates.
  const users = await deps.prisma.xmppUser.findMany({ where: { serverId: backup.serverId, state: 'active' }, select: { localpart: true } });
  await deps.prisma.$transaction([
    deps.prisma.xmppUser.createMany({ data: users.map((user) => ({ serverId, localpart: user.localpart, state: 'active' as const })), skipDuplicates: true }),
    deps.prisma.server.update({ where: { id: serverId }, data: { containerId, ...installedSpec(spec), cloneBackupId: null } }),
  ]);
  return { host, c2sPort, domain };
}
