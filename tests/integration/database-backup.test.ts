import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '../../prisma/author-migration.js';
import { ResticBackupRepository } from '../../worker/src/adapters/restic.backup-repository.js';
import { backupDatabase, DATABASE_SNAPSHOT_TAG } from '../../worker/src/backups/database-backup.js';
import { restorePlatformDatabase, RestoreRefusedError } from '../../worker/src/backups/database-restore.js';
import { BackupRepositoryError } from '../../worker/src/ports/backup-repository.js';
import { startApiHarness, withToken, type ApiHarness, type TestAccount } from '../support/api-harness.js';
import { testEnv } from '../support/test-env.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { PlatformProcess } from '../support/platform-process.js';
import { runProcess } from '../support/run-process.js';

const CHILD_PATH = '/usr/local/bin:/usr/bin:/bin';
const KEEP = { daily: 7, weekly: 4 };

describe('the platform database: backed up into restic, restored into an empty database', () => {
  let repositoryDir: string;
  const password = randomBytes(16).toString('hex');
  let source: ApiHarness;
  let restored: ApiHarness | undefined;
  let target: ScratchDatabase;
  let alice: TestAccount;
  const repository = (options: { password?: string; at?: string } = {}) =>
    new ResticBackupRepository({ repository: options.at ?? repositoryDir, password: options.password ?? password, commandTimeoutMs: 60_000, childPath: CHILD_PATH });
  const serverIds = async (harness: ApiHarness) =>
    (await harness.inject({ method: 'GET', url: '/api/v1/servers', headers: withToken(alice) })).json<{ items: { id: string }[] }>().items.map((s) => s.id).sort();

  beforeAll(async () => {
    repositoryDir = join(await mkdtemp(join(tmpdir(), 'parley-restic-')), 'repository');
    source = await startApiHarness();
    target = await createScratchDatabase(testEnv().DATABASE_URL, 'r');
    alice = await source.signUp();
    for (const name of ['first', 'second']) {
      const ordered = await source.inject({ method: 'POST', url: '/api/v1/servers', headers: withToken(alice), payload: { name: `${name}${randomBytes(3).toString('hex')}` } });
      expect(ordered.statusCode, ordered.body).toBe(202);
    }
  });

  afterAll(async () => {
    await restored?.close();
    await source?.close();
    await target?.drop();
    await rm(join(repositoryDir, '..'), { recursive: true, force: true });
  });

  it('creates the repository on first use and keeps a tagged snapshot of the dump', async () => {
    const backups = repository();
    await backups.open();
    const result = await backupDatabase({ repository: backups, databaseUrl: source.config.databaseUrl, childPath: CHILD_PATH, keep: KEEP });
    expect(result).toMatch(/^Backed up the platform database: snapshot [0-9a-f]{8}, \d+ bytes dumped/);
    expect(await backups.snapshots(DATABASE_SNAPSHOT_TAG)).toHaveLength(1);
  });

  it('restores into an empty database, where the API lists the same servers and the same token works', async () => {
    const result = await restorePlatformDatabase({ repository: repository(), databaseUrl: target.url, childPath: CHILD_PATH });
    expect(result).toMatch(/^Restored the platform database from snapshot [0-9a-f]{8} of /);
    restored = await startApiHarness({ config: (base) => ({ ...base, databaseUrl: target.url }) });
    const ids = await serverIds(restored);
    expect(ids).toHaveLength(2);
    expect(ids).toEqual(await serverIds(source));
  });

  it('refuses to restore into a database that has tables, and writes nothing', async () => {
    const before = await source.prisma.server.count();
    await expect(restorePlatformDatabase({ repository: repository(), databaseUrl: source.config.databaseUrl, childPath: CHILD_PATH })).rejects.toThrow(RestoreRefusedError);
    expect(await source.prisma.server.count()).toBe(before);
  });

  it('a dump that fails leaves no snapshot, and says why', async () => {
    const backups = repository();
    const missing = new URL(source.config.databaseUrl);
    missing.pathname = '/parley_no_such_database';
    await expect(backupDatabase({ repository: backups, databaseUrl: missing.toString(), childPath: CHILD_PATH, keep: KEEP })).rejects.toThrow(/pg_dump failed .*parley_no_such_database/);
    expect(await backups.snapshots(DATABASE_SNAPSHOT_TAG)).toHaveLength(1);
  });

  it('./parley restore-db restores into an empty database, and refuses a second time', async () => {
    const second = await createScratchDatabase(testEnv().DATABASE_URL, 'r');
    try {
      const restoreDb = () =>
        runProcess(['node', '--import', 'tsx', 'worker/src/backups/restore-database.main.ts'], {
          PATH: CHILD_PATH,
          HOME: tmpdir(),
          DATABASE_URL: second.url,
          BACKUP_REPOSITORY: repositoryDir,
          BACKUP_PASSWORD: password,
        });
      const first = await restoreDb();
      expect(first, first.out).toMatchObject({ code: 0 });
      expect(first.out).toMatch(/^Restored the platform database from snapshot/);
      const again = await restoreDb();
      expect(again.code).toBe(2);
      expect(again.out).toContain('a restore only fills an empty database');
    } finally {
      await second.drop();
    }
  });

  it('a worker whose BACKUP_PASSWORD does not open the repository refuses to start, naming the setting', async () => {
    const harness = await ProvisioningHarness.create(47_000);
    const worker = PlatformProcess.worker({ ...harness.workerEnv(), BACKUP_REPOSITORY: repositoryDir, BACKUP_PASSWORD: 'not the password of this repository' });
    try {
      expect(await worker.waitForLine(/BACKUP_PASSWORD: the backup repository .* does not open with BACKUP_PASSWORD/, 60_000)).toBeTruthy();
      expect(await worker.exitCode(30_000)).toBe(78);
    } finally {
      await worker.kill();
      await harness.close();
    }
  });

  it('a wrong password is a clear error, and an unreachable repository another', async () => {
    const wrong = await repository({ password: 'not the repository password' }).open().catch((error: unknown) => error);
    expect(wrong).toBeInstanceOf(BackupRepositoryError);
    expect(wrong).toMatchObject({ kind: 'wrong_password' });
    expect((wrong as Error).message).toContain('does not open with BACKUP_PASSWORD');

    const unreachable = await repository({ at: '/proc/parley-cannot-write-here' }).open().catch((error: unknown) => error);
    expect(unreachable).toBeInstanceOf(BackupRepositoryError);
    expect(unreachable).toMatchObject({ kind: 'unreachable' });
  });
});
