// Offline migration runner. `prisma migrate deploy` needs Prisma's native schema engine, which is
// downloaded from Prisma's servers; the same engine ships as WebAssembly in
// @prisma/schema-engine-wasm and talks to Postgres through @prisma/adapter-pg. It applies
// prisma/migrations/*/migration.sql and records them in _prisma_migrations exactly like
// `migrate deploy`, so both can be used on the same database.
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { ColumnTypeEnum, bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import * as engineBindings from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { MigrationList, SchemaEngine, SchemaFilter } from '@prisma/schema-engine-wasm';
import { loadDatabaseConfig } from './config.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
export const SCHEMA_PATH = fileURLToPath(new URL('./schema.prisma', import.meta.url));
export const NO_FILTERS: SchemaFilter = { externalTables: [], externalEnums: [] };

const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;

export class DatabaseUnreachableError extends Error {
  override name = 'DatabaseUnreachableError';
}

// tsconfig's lib has no DOM and @types/node 20 does not declare the WebAssembly global.
interface WebAssemblyApi {
  compile(bytes: Uint8Array): Promise<unknown>;
  instantiate(module: unknown, imports: Record<string, Record<string, unknown>>): Promise<{ exports: Record<string, unknown> }>;
}
const { WebAssembly: wasmApi } = globalThis as unknown as { WebAssembly: WebAssemblyApi };

let bindingsReady: Promise<void> | undefined;

// The package's entry imports its .wasm as an ES module, which needs
// --experimental-wasm-modules and breaks under vitest. Instantiating the module by hand (what
// the Prisma CLI does with its own engines) works everywhere. Done once, on first use.
function loadEngineBindings(): Promise<void> {
  bindingsReady ??= (async () => {
    const entry = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm');
    const module = await wasmApi.compile(await readFile(path.join(path.dirname(entry), 'schema_engine_bg.wasm')));
    const imports: Record<string, unknown> = { ...engineBindings };
    // The engine arms a 10 s timer (its advisory-lock timeout) and never clears it, which kept
    // every `migrate` run alive for 10 s after it finished: unref'd timers still fire, but no
    // longer hold the process open.
    for (const [name, original] of Object.entries(imports)) {
      if (!name.startsWith('__wbg_setTimeout_')) continue;
      const arm = original as (callback: () => void, ms: number) => NodeJS.Timeout;
      imports[name] = (callback: () => void, ms: number) => arm(callback, ms).unref();
    }
    // Where the engine reports a Rust panic before aborting; the CLI installs the same hook.
    (globalThis as { PRISMA_WASM_PANIC_REGISTRY?: unknown }).PRISMA_WASM_PANIC_REGISTRY = {
      set_message(message: string) {
        console.error(`schema engine panic: ${message}`);
      },
    };
    const instance = await wasmApi.instantiate(module, { './schema_engine_bg.js': imports });
    engineBindings.__wbg_set_wasm(instance.exports);
    (instance.exports['__wbindgen_start'] as () => void)();
  })();
  return bindingsReady;
}

function hasFields(value: unknown): value is { fields: { dataTypeID: number }[]; rows: object } {
  return typeof value === 'object' && value !== null && Array.isArray((value as { fields?: unknown }).fields);
}

// @prisma/adapter-pg 7.10 cannot map Postgres' one-byte "char" type (OID 18), which the engine's
// introspection selects (pg_constraint.contype, ...): it throws "Column type 'char' could not be
// deserialized". pg results are relabelled as text so the adapter accepts them, remembering
// (by rows array, which the adapter passes through) which columns to report as Character, the
// type the engine reads them as.
const charColumnsByRows = new WeakMap<object, number[]>();

function relabelCharColumns(queryable: { query: unknown }): void {
  const query = (queryable.query as (...args: unknown[]) => unknown).bind(queryable);
  queryable.query = (...args: unknown[]) => {
    const pending = query(...args);
    if (!(pending instanceof Promise)) return pending;
    return pending.then((result: unknown) => {
      if (!hasFields(result)) return result;
      const charColumns: number[] = [];
      result.fields.forEach((field, index) => {
        if (field.dataTypeID !== PG_CHAR_OID) return;
        field.dataTypeID = PG_TEXT_OID;
        charColumns.push(index);
      });
      if (charColumns.length > 0) charColumnsByRows.set(result.rows, charColumns);
      return result;
    });
  };
}

function adapterFactory(pool: pg.Pool): SqlMigrationAwareDriverAdapterFactory {
  relabelCharColumns(pool);
  pool.on('connect', (client) => relabelCharColumns(client));
  const inner = new PrismaPg(pool);
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    async connect() {
      const adapter = await inner.connect();
      const queryRaw = adapter.queryRaw.bind(adapter);
      adapter.queryRaw = async (query) => {
        const resultSet = await queryRaw(query);
        for (const index of charColumnsByRows.get(resultSet.rows) ?? []) resultSet.columnTypes[index] = ColumnTypeEnum.Character;
        return resultSet;
      };
      // adapter-pg splits scripts on ";" and sends the pieces through the pool, possibly over
      // different connections: a failing migration would be left half-applied, and a ";" in a
      // string literal would break it. One simple-protocol query (no parameters) runs the whole
      // script in one implicit transaction, as Prisma's native engine does.
      adapter.executeScript = async (script) => {
        await adapter.executeRaw({ sql: script, args: [], argTypes: [] });
      };
      return adapter;
    },
    connectToShadowDb: () => inner.connectToShadowDb(),
  };
}

function describeTarget(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  return `database "${decodeURIComponent(url.pathname.slice(1))}" at ${url.hostname}:${url.port || '5432'} as "${decodeURIComponent(url.username)}"`;
}

/** Fails fast with a message naming the target (never the password) when Postgres is unusable. */
async function assertDatabaseReachable(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    const reason = code === '28P01' ? 'authentication failed' : code === '3D000' ? 'the database does not exist' : message;
    const suffix = code && !reason.includes(code) ? ` (${code})` : '';
    throw new DatabaseUnreachableError(`Cannot use ${describeTarget(databaseUrl)}: ${reason}${suffix}`, { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface OpenEngine {
  engine: SchemaEngine;
  close: () => Promise<void>;
}

/** A schema engine connected to `databaseUrl`; `close()` frees it and its connections. */
export async function openSchemaEngine(databaseUrl: string): Promise<OpenEngine> {
  await assertDatabaseReachable(databaseUrl);
  await loadEngineBindings();
  // No idle eviction: the connection holding the engine's advisory lock may sit idle in the pool
  // while a long migration runs, and closing it would release the lock early.
  const pool = new pg.Pool({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 0, max: 2 });
  pool.on('error', () => undefined);
  const datamodel = await readFile(SCHEMA_PATH, 'utf8');
  try {
    const engine = await engineBindings.SchemaEngine.new(
      { datamodels: [[SCHEMA_PATH, datamodel]] },
      // The engine logs JSON lines (INFO noise); failures reach us as rejected promises.
      () => undefined,
      bindMigrationAwareSqlAdapterFactory(adapterFactory(pool)),
    );
    return {
      engine,
      async close() {
        engine.free();
        await pool.end();
      },
    };
  } catch (error) {
    await pool.end();
    throw error;
  }
}

/** The migrations folder in the shape the engine expects, ordered by folder name. */
async function readMigrationList(migrationsDir: string = MIGRATIONS_DIR): Promise<MigrationList> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  const lockfilePath = path.join(migrationsDir, 'migration_lock.toml');
  return {
    baseDir: migrationsDir,
    lockfile: { path: lockfilePath, content: await readFile(lockfilePath, 'utf8').catch(() => null) },
    shadowDbInitScript: '',
    migrationDirectories: await Promise.all(
      names.map(async (name) => ({
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: await readFile(path.join(migrationsDir, name, 'migration.sql'), 'utf8').then(
            (value) => ({ tag: 'ok' as const, value }),
            (error: Error) => ({ tag: 'error' as const, value: error.message }),
          ),
        },
      })),
    ),
  };
}

/**
 * Applies pending migrations. Safe to run concurrently (the engine holds Prisma's advisory
 * lock) and repeatedly (a second run applies nothing).
 */
export async function applyMigrations(
  databaseUrl: string,
  migrationsDir: string = MIGRATIONS_DIR,
): Promise<{ applied: string[] }> {
  const migrationsList = await readMigrationList(migrationsDir);
  const { engine, close } = await openSchemaEngine(databaseUrl);
  try {
    const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList, filters: NO_FILTERS });
    return { applied: appliedMigrationNames };
  } finally {
    await close();
  }
}

async function main(): Promise<void> {
  const { databaseUrl } = loadDatabaseConfig();
  const { applied } = await applyMigrations(databaseUrl);
  if (applied.length === 0) console.log('migrate: no pending migrations');
  for (const name of applied) console.log(`migrate: applied ${name}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(`migrate: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
