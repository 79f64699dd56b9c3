// Dev tool: writes the next migration folder from the difference between the migrations
// already in prisma/migrations and prisma/schema.prisma. `prisma migrate dev` cannot run offline
// and the WASM engine's createMigration has no shadow database, so the tool builds its own:
// a scratch database migrated to the current folder, introspected and diffed against the schema.
//
//   DATABASE_URL=... node --import tsx prisma/author-migration.ts <name>   writes <timestamp>_<name>
//   DATABASE_URL=... node --import tsx prisma/author-migration.ts --check  exit 1 if a migration is missing
//
// DATABASE_URL only names the server and a role with CREATEDB; its database is not touched.
// The SQL may be edited before committing (CHECK constraints, data backfills): the engine ignores
// CHECK constraints when diffing, so they do not show up as drift.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { loadDatabaseConfig } from './config.js';
import { MIGRATIONS_DIR, NO_FILTERS, SCHEMA_PATH, applyMigrations, openSchemaEngine } from './migrate.js';

export interface ScratchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function withAdminClient<T>(baseUrl: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database `parley_<prefix>_<random>` on the server of `baseUrl`. */
/**
 * DROP ... WITH (FORCE) as a non-superuser cannot end an autovacuum worker that a busy machine
 * started on the new database (42501); it finishes within moments, so try again, bounded.
 */
async function dropDatabase(baseUrl: string, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await withAdminClient(baseUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
      return;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (attempt >= 40 || (code !== '42501' && code !== '55006')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

export async function createScratchDatabase(baseUrl: string, prefix: string): Promise<ScratchDatabase> {
  const name = `parley_${prefix}_${randomBytes(6).toString('hex')}`;
  await withAdminClient(baseUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    // FORCE ends connections a test or a crashed engine left behind.
    drop: () => dropDatabase(baseUrl, name),
  };
}

/** The SQL that brings a database migrated to the current folder up to schema.prisma, or null. */
export async function pendingSchemaSql(baseUrl: string): Promise<string | null> {
  const scratch = await createScratchDatabase(baseUrl, 'author');
  try {
    await applyMigrations(scratch.url);
    const files = [{ path: SCHEMA_PATH, content: await readFile(SCHEMA_PATH, 'utf8') }];
    const { engine, close } = await openSchemaEngine(scratch.url);
    try {
      const result = await engine.diff({
        from: { tag: 'schemaDatasource', files, configDir: path.dirname(SCHEMA_PATH) },
        to: { tag: 'schemaDatamodel', files },
        script: true,
        // exitCode 2 means "the diff is not empty".
        exitCode: true,
        filters: NO_FILTERS,
      });
      return result.exitCode === 2 && result.stdout ? result.stdout : null;
    } finally {
      await close();
    }
  } finally {
    await scratch.drop();
  }
}

function timestamp(now: Date): string {
  return now.toISOString().replace(/\D/g, '').slice(0, 14);
}

async function main(argv: string[]): Promise<void> {
  const arg = argv[0];
  if (!arg || (arg !== '--check' && !/^[a-z0-9_]+$/.test(arg))) {
    throw new Error('usage: author-migration.ts <name in snake_case> | --check');
  }
  const { databaseUrl } = loadDatabaseConfig();
  const sql = await pendingSchemaSql(databaseUrl);
  if (sql === null) {
    console.log('author-migration: schema.prisma matches prisma/migrations; nothing to write');
    return;
  }
  if (arg === '--check') {
    console.error('author-migration: schema.prisma has changes no migration covers:\n' + sql);
    process.exitCode = 1;
    return;
  }
  const dir = path.join(MIGRATIONS_DIR, `${timestamp(new Date())}_${arg}`);
  await mkdir(dir);
  await writeFile(path.join(dir, 'migration.sql'), sql.endsWith('\n') ? sql : `${sql}\n`);
  console.log(`author-migration: wrote ${path.relative(process.cwd(), dir)}/migration.sql`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`author-migration: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
