/** A dependency the API cannot work without. */
export type Dependency = 'database' | 'redis';

// Prisma's codes for "cannot reach / lost / timed out talking to the database server" and
// "connection pool exhausted": none of them is the request's fault.
const PRISMA_UNREACHABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE']);
// node-postgres' pool past DATABASE_CONNECT_TIMEOUT_MS: no connection came free, or none could be
// opened in time. Its errors carry no code; Prisma's adapter passes them on as they are.
const PG_POOL_TIMEOUTS = [/^timeout exceeded when trying to connect$/, /^Connection terminated due to connection timeout$/];
// ioredis without an offline queue fails commands at once with these while disconnected.
const REDIS_DOWN_MESSAGES = [/Stream isn't writeable/, /Connection is closed/, /Reached the max retries per request/];

/**
 * Names the dependency an error says is unreachable, or null when the error is anything else.
 * The error handler turns a non-null answer into a 503 instead of a 500.
 */
export function unreachableDependency(error: unknown): Dependency | null {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (PG_POOL_TIMEOUTS.some((pattern) => pattern.test(current.message))) return 'database';
    if (current.name.startsWith('PrismaClient')) {
      if (current.name === 'PrismaClientInitializationError') return 'database';
      if (typeof code === 'string' && PRISMA_UNREACHABLE.has(code)) return 'database';
      return null;
    }
    if (current.name === 'MaxRetriesPerRequestError' || REDIS_DOWN_MESSAGES.some((pattern) => pattern.test(current.message))) {
      return 'redis';
    }
    // Prisma's driver adapter and the SqlReader (prisma/client.ts) both carry node-postgres' code.
    if ((current.name === 'DriverAdapterError' || current.name === 'SqlReadError') && typeof code === 'string' && NETWORK_CODES.has(code)) return 'database';
  }
  return null;
}
