import type { BackupRepository, RetentionPolicy } from '../ports/backup-repository.js';
import { dumpDatabase } from './database-dump.js';

/** The tag and file name of the platform database's snapshots in the repository. */
export const DATABASE_SNAPSHOT_TAG = 'parley-database';
export const DATABASE_DUMP_FILE = 'parley-database.pgdump';

export interface DatabaseBackupDeps {
  repository: BackupRepository;
  databaseUrl: string;
  childPath: string;
  keep: RetentionPolicy;
}

/**
 * Dumps Parley's own database (pg_dump, custom format) into the backup repository, then forgets
 * the snapshots the retention policy no longer keeps. A dump that fails leaves no snapshot.
 */
export async function backupDatabase(deps: DatabaseBackupDeps): Promise<string> {
  // Creates the repository if it could not be made when the worker started.
  await deps.repository.open();
  const saved = await deps.repository.backupStream({
    filename: DATABASE_DUMP_FILE,
    tags: [DATABASE_SNAPSHOT_TAG],
    produce: (sink) => dumpDatabase(deps.databaseUrl, deps.childPath, sink),
  });
  await deps.repository.prune(DATABASE_SNAPSHOT_TAG, deps.keep);
  return `Backed up the platform database: snapshot ${saved.snapshotId.slice(0, 8)}, ${saved.bytes} bytes dumped, ${saved.bytesAdded} new in the repository`;
}
