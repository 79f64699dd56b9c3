import type { PrismaClient } from './client.js';

/**
 * The plans customers can order; re-running updates them in place. Personal: a backup a day, 7
 * daily + 4 weekly kept; Team: every 6 hours, the last 4 + 14 daily + 8 weekly.
 */
export const PLANS = [
  { code: 'personal', name: 'Personal', maxServers: 3, maxUsersPerServer: 25, storageMiB: 1024, memoryMiB: 128, cpuMillis: 500, pidsLimit: 64, backupIntervalMinutes: 1440, backupKeepLast: 1, backupKeepDaily: 7, backupKeepWeekly: 4 },
  { code: 'team', name: 'Team', maxServers: 10, maxUsersPerServer: 250, storageMiB: 10240, memoryMiB: 256, cpuMillis: 1000, pidsLimit: 128, backupIntervalMinutes: 360, backupKeepLast: 4, backupKeepDaily: 14, backupKeepWeekly: 8 },
] as const;

export async function seedPlans(prisma: PrismaClient): Promise<void> {
  for (const plan of PLANS) {
    await prisma.plan.upsert({ where: { code: plan.code }, create: plan, update: plan });
  }
}
