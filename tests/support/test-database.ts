import { createScratchDatabase } from '../../prisma/author-migration.js';
import { createPrismaClient } from '../../prisma/client.js';
import type { PrismaClient } from '../../prisma/client.js';
import { applyMigrations } from '../../prisma/migrate.js';
import { testEnv } from './test-env.js';

export interface TestDatabase {
  url: string;
  prisma: PrismaClient;
  drop(): Promise<void>;
}

/**
 * A fresh, fully migrated database `parley_t_<random>` on the sandbox Postgres, so tests never
 * share rows. Call `drop()` in afterAll: it disconnects and drops the database.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const scratch = await createScratchDatabase(testEnv().DATABASE_URL, 't');
  try {
    await applyMigrations(scratch.url);
  } catch (error) {
    await scratch.drop();
    throw error;
  }
  const prisma = createPrismaClient(scratch.url);
  return {
    url: scratch.url,
    prisma,
    async drop() {
      await prisma.$disconnect();
      await scratch.drop();
    },
  };
}
