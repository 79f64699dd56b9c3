import pg from 'pg';
import type { BackupRepository } from '../ports/backup-repository.js';
import { DATABASE_DUMP_FILE, DATABASE_SNAPSHOT_TAG } from './database-backup.js';
import { restoreDatabase } from './database-dump.js';

/** A restore refused before anything was written, with what to do. */
export class RestoreRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreRefusedError';
  }
}

async function tablesIn(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<{ count: string }>(`SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`);
    return Number(result.rows[0]?.count ?? 0);
  } finally {
    await client.end();
  }
}

/**
 * Restores a snapshot of the platform database (the newest when `snapshotId` is not given) into
 * an empty database. A database that has tables is refused: a restore never merges into one.
 */
export async function restorePlatformDatabase(deps: { repository: BackupRepository; databaseUrl: string; childPath: string }, snapshotId?: string): Promise<string> {
  const snapshots = await deps.repository.snapshots(DATABASE_SNAPSHOT_TAG);
  const snapshot = snapshotId === undefined ? snapshots.at(-1) : snapshots.find((s) => s.id === snapshotId || s.id.startsWith(snapshotId));
  if (!snapshot) {
    throw new RestoreRefusedError(
      snapshotId === undefined
        ? 'The backup repository holds no backup of the platform database yet.'
        : `No backup of the platform database has the id ${snapshotId}; the ids are: ${snapshots.map((s) => s.id.slice(0, 8)).join(', ') || 'none'}.`,
    );
  }
  const tables = await tablesIn(deps.databaseUrl);
  if (tables > 0) {
    throw new RestoreRefusedError(
      `The target database already has ${tables} table(s); a restore only fills an empty database. Create one (createdb) and point DATABASE_URL at it, or drop this one first.`,
    );
  }
  await deps.repository.dump({ snapshotId: snapshot.id, filename: DATABASE_DUMP_FILE, consume: (source) => restoreDatabase(deps.databaseUrl, deps.childPath, source) });
  return `Restored the platform database from snapshot ${snapshot.id.slice(0, 8)} of ${snapshot.time.toISOString()}`;
}
