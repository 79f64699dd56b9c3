import type { PrismaClient } from './client.js';

/** The plans customers can order; re-running updates them in place. */
export const PLANS = [
  { code: 'personal', name: 'Personal', maxServers: 3, maxUsersPerServer: 25, storageMiB: 1024, memoryMiB: 128, cpuMillis: 500, pidsLimit: 64 },
  { code: 'team', name: 'Team', maxServers: 10, maxUsersPerServer: 250, storageMiB: 10240, memoryMiB: 256, cpuMillis: 1000, pidsLimit: 128 },
] as const;

export async function seedPlans(prisma: PrismaClient): Promise<void> {
  for (const plan of PLANS) {
    await prisma.plan.upsert({ where: { code: plan.code }, create: plan, update: plan });
  }
}
