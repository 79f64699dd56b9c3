import type { PrismaClient } from '../../../prisma/client.js';
import type { Prisma } from '../../../prisma/generated/client/client.js';
import { isComplianceAccount } from '../contracts/compliance.js';
import type { ProsodyUsage } from './prosody-usage.js';

const DAY_MS = 86_400_000;

/** Where the next count of sent messages starts: the server's last sample, or when it became ready. */
export async function usageCountedSince(prisma: PrismaClient, server: { id: string; readyAt: Date | null; createdAt: Date }): Promise<Date> {
  const last = await prisma.serverUsageSample.findFirst({ where: { serverId: server.id }, orderBy: { takenAt: 'desc' }, select: { takenAt: true } });
  return last?.takenAt ?? server.readyAt ?? server.createdAt;
}

/** Messages per UTC day: compliance checks' throwaway accounts and rooms are the platform's, not the customer's. */
export function messagesPerDay(usage: ProsodyUsage): Map<string, number> {
  const days = new Map<string, number>();
  for (const sent of usage.sent) {
    if (isComplianceAccount(sent.name)) continue;
    days.set(sent.day, (days.get(sent.day) ?? 0) + sent.count);
  }
  return days;
}

/**
 * The writes of one sample, for the census's transaction: the sample (taken at `takenAt`, the end
 * of the window the messages were counted in, so the next count starts there), the day counts
 * added to, and what fell out of the retention dropped.
 */
export function usageSampleWrites(
  prisma: PrismaClient,
  sample: { serverId: string; takenAt: Date; accounts: string[]; usage: ProsodyUsage; retentionDays: number },
): Prisma.PrismaPromise<unknown>[] {
  const { serverId, takenAt, accounts, usage } = sample;
  const seats = new Set(accounts);
  const cutoff = new Date(takenAt.getTime() - sample.retentionDays * DAY_MS);
  return [
    prisma.serverUsageSample.create({
      data: {
        serverId,
        takenAt,
        registeredUsers: seats.size,
        onlineUsers: usage.online.filter((username) => seats.has(username)).length,
        uploadBytes: BigInt(usage.uploadBytes),
        archiveBytes: BigInt(usage.archiveBytes),
      },
    }),
    ...[...messagesPerDay(usage)].map(([day, messages]) =>
      prisma.serverMessageDay.upsert({
        where: { serverId_day: { serverId, day: new Date(`${day}T00:00:00Z`) } },
        create: { serverId, day: new Date(`${day}T00:00:00Z`), messages },
        update: { messages: { increment: messages } },
      }),
    ),
    prisma.serverUsageSample.deleteMany({ where: { serverId, takenAt: { lt: cutoff } } }),
    prisma.serverMessageDay.deleteMany({ where: { serverId, day: { lt: cutoff } } }),
  ];
}
