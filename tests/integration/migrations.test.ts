import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase, pendingSchemaSql } from '../../prisma/author-migration.js';
import type { ScratchDatabase } from '../../prisma/author-migration.js';
import { MIGRATIONS_DIR, applyMigrations } from '../../prisma/migrate.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';
import { testEnv } from '../support/test-env.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

const EXPECTED_TABLES = [
  '_prisma_migrations',
  'account_tokens',
  'accounts',
  'acme_accounts',
  'acme_orders',
  'api_tokens',
  'audit_logs',
  'certificates',
  'compliance_results',
  'dns_records',
  'domains',
  'encrypted_secrets',
  'incidents',
  'invites',
  'node_certificates',
  'nodes',
  'plans',
  'platform_incidents',
  'port_allocations',
  'provisioning_events',
  'recovery_codes',
  'server_backups',
  'server_credentials',
  'server_exports',
  'server_imports',
  'server_message_days',
  'server_usage_samples',
  'servers',
  'sessions',
  'turn_secrets',
  'xmpp_users',
];

async function migrationNames(dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = password;
  return parsed.toString();
}

/** Runs `npm run migrate`'s exact command line with only the given environment. */
async function runMigrateCli(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = ['--experimental-wasm-modules', '--no-warnings', '--import', 'tsx', 'prisma/migrate.ts'];
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, args, {
      cwd: repoRoot,
      env,
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('migrations on an empty database', () => {
  let scratch: ScratchDatabase;
  let firstRun: { applied: string[] };

  // The first run is the fixture every test reads, so they hold in any order.
  beforeAll(async () => {
    scratch = await createScratchDatabase(testEnv().DATABASE_URL, 't');
    firstRun = await applyMigrations(scratch.url);
  });
  afterAll(async () => {
    await scratch?.drop();
  });

  it('applies every migration folder, in order', async () => {
    expect(firstRun.applied).toEqual(await migrationNames());
  });

  it('creates every table of the data model', async () => {
    const rows = await query<{ table_name: string }>(
      scratch.url,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(rows.map((row) => row.table_name)).toEqual(EXPECTED_TABLES);
  });

  it('records them in _prisma_migrations the way `prisma migrate deploy` does', async () => {
    const rows = await query<{ migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null }>(
      scratch.url,
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY migration_name',
    );
    const names = await migrationNames();
    expect(rows.map((row) => row.migration_name)).toEqual(names);
    for (const [index, row] of rows.entries()) {
      const sql = await readFile(path.join(MIGRATIONS_DIR, names[index] ?? '', 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
    }
  });

  it('applies nothing on a second run', async () => {
    expect(await applyMigrations(scratch.url)).toEqual({ applied: [] });
    const [row] = await query<{ count: string }>(scratch.url, 'SELECT count(*) AS count FROM _prisma_migrations');
    expect(Number(row?.count)).toBe((await migrationNames()).length);
  });

  it('covers all of schema.prisma (no migration is missing)', async () => {
    expect(await pendingSchemaSql(testEnv().DATABASE_URL)).toBeNull();
  });
});

describe('a failing migration', () => {
  let scratch: ScratchDatabase;
  let dir: string;

  beforeAll(async () => {
    scratch = await createScratchDatabase(testEnv().DATABASE_URL, 't');
    dir = await mkdtemp(path.join(tmpdir(), 'parley-migrations-'));
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    await mkdir(path.join(dir, '99999999999999_broken'));
    // The ";" inside the literal and the comment must not split the script.
    await writeFile(
      path.join(dir, '99999999999999_broken', 'migration.sql'),
      "-- first; second\nCREATE TABLE \"half_done\" (\"note\" TEXT DEFAULT 'a;b');\nSELECT * FROM \"no_such_table\";\n",
    );
  });
  afterAll(async () => {
    await scratch?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is rolled back whole and blocks later runs until resolved', async () => {
    await expect(applyMigrations(scratch.url, dir)).rejects.toThrow(/no_such_table/);
    const tables = await query<{ table_name: string }>(
      scratch.url,
      `SELECT table_name FROM information_schema.tables WHERE table_name = 'half_done'`,
    );
    expect(tables).toEqual([]);
    await expect(applyMigrations(scratch.url, dir)).rejects.toThrow(/failed migrations/);
  });
});

describe('the generated client through @prisma/adapter-pg', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('inserts and reads rows across relations', async () => {
    const { prisma } = db;
    const plan = await prisma.plan.create({
      data: { code: 'small', name: 'Small', maxServers: 1, maxUsersPerServer: 10, storageMiB: 512, memoryMiB: 128, cpuMillis: 500, pidsLimit: 64 },
    });
    const account = await prisma.account.create({
      data: { email: 'alice@example.test', passwordHash: '$argon2id$placeholder', planId: plan.id },
    });
    const server = await prisma.server.create({
      data: {
        accountId: account.id,
        planId: plan.id,
        name: 'Alice',
        domain: 'alice.parley.test',
        domainKind: 'platform',
        events: { create: { step: 'order', status: 'info', message: 'ordered', detail: { via: 'test' } } },
      },
    });
    const secret = await prisma.encryptedSecret.create({
      data: { purpose: 'admin_password', keyring: 'credentials', keyVersion: 1, iv: new Uint8Array([1, 2, 3]), ciphertext: new Uint8Array([4, 5]), authTag: new Uint8Array([6]) },
    });
    await prisma.serverCredential.create({ data: { serverId: server.id, jid: 'admin@alice.parley.test', secretId: secret.id } });

    const read = await prisma.server.findUniqueOrThrow({
      where: { id: server.id },
      include: { account: true, plan: true, events: true, credentials: { include: { secret: true } } },
    });
    expect(server.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(read.state).toBe('ordered');
    expect(read.desiredState).toBe('running');
    expect(read.version).toBe(0);
    expect(read.createdAt).toBeInstanceOf(Date);
    expect(read.account.email).toBe('alice@example.test');
    expect(read.plan.code).toBe('small');
    expect(read.events).toHaveLength(1);
    expect(typeof read.events[0]?.id).toBe('bigint');
    expect(read.events[0]?.detail).toEqual({ via: 'test' });
    expect(read.credentials[0]?.issuance).toBe(1);
    expect(Array.from(read.credentials[0]?.secret.ciphertext ?? [])).toEqual([4, 5]);
    expect(read.credentials[0]?.secret.revealedAt).toBeNull();
  });

  it('enforces the live-row uniqueness and the hand-written checks', async () => {
    const { prisma } = db;
    const { id: planId } = await prisma.plan.create({
      data: { code: 'checks', name: 'Checks', maxServers: 2, maxUsersPerServer: 10, storageMiB: 512, memoryMiB: 128, cpuMillis: 500, pidsLimit: 64 },
    });
    const { id: accountId } = await prisma.account.create({ data: { email: 'erin@example.test', passwordHash: '$argon2id$placeholder', planId } });
    const order = { accountId, planId, name: 'Again', domainKind: 'platform' as const };
    await prisma.server.create({ data: { ...order, domain: 'erin.parley.test' } });

    await expect(prisma.server.create({ data: { ...order, domain: 'erin.parley.test' } })).rejects.toMatchObject({ code: 'P2002' });
    await prisma.server.updateMany({ where: { domain: 'erin.parley.test' }, data: { state: 'deleted', deletedAt: new Date() } });
    await expect(prisma.server.create({ data: { ...order, domain: 'erin.parley.test' } })).resolves.toMatchObject({ state: 'ordered' });

    await expect(prisma.server.create({ data: { ...order, domain: 'Bob.parley.test' } })).rejects.toThrow(/servers_domain_lower_check/);
    await expect(prisma.server.create({ data: { ...order, domain: 'carol.example.test', domainKind: 'custom' } })).rejects.toThrow(
      /servers_custom_domain_check/,
    );
  });
});

describe('an unusable DATABASE_URL', () => {
  it('fails with a message that names the target but not the password', async () => {
    const url = withPassword(testEnv().DATABASE_URL, 'wrong-password');
    const failure = applyMigrations(url);
    await expect(failure).rejects.toThrow(/^Cannot use database "parley" at 127\.0\.0\.1:5432 as "parley": authentication failed/);
    await expect(failure).rejects.not.toThrow(/wrong-password/);
  });

  it('reports a server that is not listening', async () => {
    await expect(applyMigrations('postgresql://parley:x@127.0.0.1:1/parley')).rejects.toThrow(/at 127\.0\.0\.1:1 .*ECONNREFUSED/);
  });

  it('makes `npm run migrate` exit non-zero with that message', async () => {
    const unreachable = await runMigrateCli({ DATABASE_URL: 'postgresql://parley:x@127.0.0.1:1/parley' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^migrate: Cannot use database "parley" at 127\.0\.0\.1:1/);

    const missing = await runMigrateCli({});
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/DATABASE_URL is not set/);
  });

  it('makes `npm run migrate` report nothing pending on a migrated database', async () => {
    const db = await createTestDatabase();
    try {
      const run = await runMigrateCli({ DATABASE_URL: db.url });
      expect(run).toMatchObject({ code: 0, stdout: 'migrate: no pending migrations\n' });
    } finally {
      await db.drop();
    }
  });
});
