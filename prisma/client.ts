import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client/client.js';

export { PrismaClient };

/**
 * A Prisma client over node-postgres (Prisma 7 has no native query engine). Connects lazily on
 * the first query; the caller owns it and calls `$disconnect()` on shutdown.
 */
export function createPrismaClient(databaseUrl: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
}
