import type { PrismaClient } from '../../prisma/client.js';

/** Per table: its row count and a digest of every row. */
export type DatabaseSnapshot = Record<string, { rows: number; digest: string }>;

// "When was it last used" bookkeeping is written by authentication itself, whatever the answer.
const BOOKKEEPING_COLUMNS = ['last_used_at', 'last_seen_at'];

/**
 * Fingerprints every table of the public schema in one query, so a test can assert that a
 * request "changed nothing" without knowing which tables a route touches, including tables a
 * later feature adds.
 */
export async function snapshotDatabase(prisma: PrismaClient): Promise<DatabaseSnapshot> {
  const tables = await prisma.$queryRaw<{ name: string }[]>`
    SELECT table_name AS name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations'
    ORDER BY table_name`;
  const row = `(to_jsonb(t) ${BOOKKEEPING_COLUMNS.map((column) => `- '${column}'`).join(' ')})::text`;
  const sql = tables
    .map(
      ({ name }) =>
        `SELECT '${name}' AS name, count(*)::int AS rows, coalesce(md5(string_agg(${row}, ',' ORDER BY ${row})), '') AS digest FROM "${name}" t`,
    )
    .join(' UNION ALL ');
  const rows = await prisma.$queryRawUnsafe<{ name: string; rows: number; digest: string }[]>(sql);
  return Object.fromEntries(rows.map((r) => [r.name, { rows: r.rows, digest: r.digest }]));
}
