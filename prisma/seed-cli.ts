import { createPrismaClient } from './client.js';
import { loadDatabaseConfig } from './config.js';
import { PLANS, seedPlans } from './seed.js';

/** `npm run seed`: the reference data every environment needs (plans); safe to run again. */
async function main(): Promise<void> {
  const prisma = createPrismaClient(loadDatabaseConfig().databaseUrl);
  try {
    await seedPlans(prisma);
    console.log(`seed: plans ${PLANS.map((p) => p.code).join(', ')} up to date`);
  } finally {
    await prisma.$disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(`seed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
