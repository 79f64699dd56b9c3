import { RESTIC_COMMAND_TIMEOUT_MS, ResticBackupRepository } from '../adapters/restic.backup-repository.js';
import { ConfigError } from '../contracts/env-fields.js';
import { describeError } from '../contracts/dependency-check.js';
import { restorePlatformDatabase, RestoreRefusedError } from './database-restore.js';
import { loadRestoreConfig } from './restore.config.js';

const USAGE = 'usage: ./parley restore-db [--snapshot ID]   (restores into the empty database DATABASE_URL names)';

async function main(args: string[]): Promise<string> {
  const snapshotAt = args.indexOf('--snapshot');
  const snapshotId = snapshotAt === -1 ? undefined : args[snapshotAt + 1];
  if ((snapshotAt !== -1 && !snapshotId) || args.length !== (snapshotAt === -1 ? 0 : 2)) throw new RestoreRefusedError(USAGE);
  const config = loadRestoreConfig();
  const repository = new ResticBackupRepository({ repository: config.repository, password: config.password, commandTimeoutMs: RESTIC_COMMAND_TIMEOUT_MS, childPath: config.childPath });
  await repository.open();
  return restorePlatformDatabase({ repository, databaseUrl: config.databaseUrl, childPath: config.childPath }, snapshotId);
}

main(process.argv.slice(2)).then(
  (message) => process.stdout.write(`${message}\n`),
  (error: unknown) => {
    process.stderr.write(`parley restore-db: ${describeError(error)}\n`);
    process.exit(error instanceof ConfigError ? 78 : error instanceof RestoreRefusedError ? 2 : 1);
  },
);
