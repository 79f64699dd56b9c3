import { z } from 'zod';
import { envFields, parseEnv } from '../contracts/env-fields.js';

const restoreEnvSchema = z.object({
  DATABASE_URL: envFields.databaseUrl,
  BACKUP_REPOSITORY: envFields.backupRepository,
  BACKUP_PASSWORD: envFields.backupPassword,
  PATH: envFields.childPath,
});

/** What `./parley restore-db` needs: the database to fill and the repository to read. */
export interface RestoreConfig {
  databaseUrl: string;
  repository: string;
  password: string;
  childPath: string;
}

export function loadRestoreConfig(env: Record<string, string | undefined> = process.env): RestoreConfig {
  const e = parseEnv(restoreEnvSchema, env);
  return { databaseUrl: e.DATABASE_URL, repository: e.BACKUP_REPOSITORY, password: e.BACKUP_PASSWORD, childPath: e.PATH };
}
