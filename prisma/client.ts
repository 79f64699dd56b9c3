import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient, type Prisma } from './generated/client/client.js';

export { PrismaClient };

/**
 * A Prisma client over node-postgres (Prisma 7 has no native query engine). Connects lazily on
 * the first query; the caller owns it and calls `$disconnect()` on shutdown.
 */
export function createPrismaClient(databaseUrl: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
}

/**
 * Reads sent as plain SQL through node-postgres, rows as pg parses them (timestamptz as Date,
 * int4 as number, bool as boolean; cast enums to text). For the few reads on every request, where
 * Prisma's own cost per statement (planning it, mapping each column, even for $queryRaw) was
 * several times what pg spends on the same statement.
 */
export interface SqlReader {
  rows<Row>(query: Prisma.Sql): Promise<Row[]>;
}

/**
 * A SqlReader query that failed, with node-postgres' error as its cause and that error's code: a
 * network error's (ECONNREFUSED...) or Postgres' SQLSTATE. Named, so the API's error handler can
 * tell "the database is unreachable" (503) from a bug (500), as it does for Prisma's errors.
 */
export class SqlReadError extends Error {
  override readonly name = 'SqlReadError';
  readonly code: string | undefined;

  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    const code = (cause as { code?: unknown } | null)?.code;
    this.code = typeof code === 'string' ? code : undefined;
  }
}

/** A Prisma client and a SqlReader sharing one pg pool: no more connections than Prisma alone. */
export interface Database {
  prisma: PrismaClient;
  sql: SqlReader;
  /** Disconnects Prisma, then closes the pool, which pg queries alone may have opened. */
  close(): Promise<void>;
}

/**
 * Connects lazily, like createPrismaClient; the caller owns it and calls `close()` on shutdown.
 * `connectTimeoutMs` bounds the wait for a connection, a new one or a free one of the pool's: past
 * it a query fails instead of queueing behind the others for as long as they take.
 */
export function createDatabase(databaseUrl: string, options: { connectTimeoutMs?: number } = {}): Database {
  const pool = new pg.Pool({ connectionString: databaseUrl, connectionTimeoutMillis: options.connectTimeoutMs ?? 0 });
  // An idle connection that breaks (Postgres restarted) is dropped by the pool and the next query
  // opens another; unheard, its 'error' event would end the process.
  pool.on('error', () => undefined);
  // Prisma's adapter passes its type parsers with each of its queries, so the pool keeps pg's
  // defaults for the SqlReader's.
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  // Each distinct statement text is prepared once per connection under a name of its own, then
  // only bound and executed: parsing and planning it every time was most of Postgres' CPU for
  // these short reads. The texts are the code's own (values are always parameters), so the map
  // stays as small as the number of statements the code writes.
  const statementNames = new Map<string, string>();
  const nameOf = (text: string) => {
    let name = statementNames.get(text);
    if (name === undefined) {
      name = `sql_reader_${statementNames.size}`;
      statementNames.set(text, name);
    }
    return name;
  };
  return {
    prisma,
    sql: {
      async rows<Row>(query: Prisma.Sql) {
        try {
          return (await pool.query({ name: nameOf(query.text), text: query.text, values: query.values })).rows as Row[];
        } catch (error) {
          throw new SqlReadError(error);
        }
      },
    },
    async close() {
      await prisma.$disconnect();
      if (!pool.ended) await pool.end();
    },
  };
}
