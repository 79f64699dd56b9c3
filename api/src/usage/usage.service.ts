import type { PrismaClient } from '../../../prisma/client.js';
import { ownedBy, type Principal } from '../auth/principal.js';
import { notFound } from '../http/problem.js';

const MIB = 1024 * 1024;
const DAY_MS = 86_400_000;

/**
 * The charts' ranges: hourly points over a week, six-hourly over a month. Each point is the peak
 * of its bucket's samples, so a busy hour never averages away; a month is 120 points however
 * often samples are taken or however long the server has run.
 */
export const USAGE_RANGES = [
  { days: 7, bucketMinutes: 60 },
  { days: 30, bucketMinutes: 360 },
] as const;

interface BucketRow {
  at: Date;
  registered: number;
  online: number;
  storage: bigint;
}

/** A server's usage for its owner (and operators): now, against the plan, and over time. */
export class UsageService {
  constructor(private readonly prisma: PrismaClient) {}

  async get(principal: Principal, serverId: string, now = new Date()) {
    const server = await this.prisma.server.findFirst({ where: { id: serverId, deletedAt: null, ...ownedBy(principal) }, select: { plan: { select: { maxUsersPerServer: true, storageMiB: true } } } });
    if (!server) throw notFound('server', serverId, 'GET /api/v1/servers');
    const longest = Math.max(...USAGE_RANGES.map((range) => range.days));
    const today = startOfUtcDay(now);
    const [latest, days, ...ranges] = await Promise.all([
      this.prisma.serverUsageSample.findFirst({ where: { serverId }, orderBy: { takenAt: 'desc' } }),
      this.prisma.serverMessageDay.findMany({ where: { serverId, day: { gt: new Date(today.getTime() - longest * DAY_MS) } }, orderBy: { day: 'asc' } }),
      ...USAGE_RANGES.map((range) => this.buckets(serverId, range.bucketMinutes, new Date(now.getTime() - range.days * DAY_MS))),
    ]);
    const messagesOn = new Map(days.map((row) => [isoDay(row.day), row.messages]));
    return {
      sampledAt: latest?.takenAt.toISOString() ?? null,
      limits: { users: server.plan.maxUsersPerServer, storageBytes: server.plan.storageMiB * MIB },
      latest: latest
        ? { registeredUsers: latest.registeredUsers, onlineUsers: latest.onlineUsers, uploadBytes: Number(latest.uploadBytes), archiveBytes: Number(latest.archiveBytes) }
        : null,
      messagesToday: messagesOn.get(isoDay(today)) ?? 0,
      ranges: USAGE_RANGES.map((range, index) => ({
        days: range.days,
        bucketMinutes: range.bucketMinutes,
        points: (ranges[index] ?? []).map((row) => ({ at: row.at.toISOString(), registeredUsers: row.registered, onlineUsers: row.online, storageBytes: Number(row.storage) })),
        // Every day of the range, a day without messages as 0, so the chart's days line up.
        messagesPerDay: Array.from({ length: range.days }, (_, i) => {
          const day = isoDay(new Date(today.getTime() - (range.days - 1 - i) * DAY_MS));
          return { day, messages: messagesOn.get(day) ?? 0 };
        }),
      })),
    };
  }

  /** The peaks of each bucket since `since`, oldest first: one range scan of the (server_id, taken_at) key. */
  private buckets(serverId: string, bucketMinutes: number, since: Date): Promise<BucketRow[]> {
    return this.prisma.$queryRaw<BucketRow[]>`
      SELECT date_bin(make_interval(mins => ${bucketMinutes}::int), taken_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS at,
             max(registered_users)::int AS registered,
             max(online_users)::int AS online,
             max(upload_bytes + archive_bytes) AS storage
        FROM server_usage_samples
       WHERE server_id = ${serverId}::uuid AND taken_at > ${since}
       GROUP BY 1
       ORDER BY 1`;
  }
}

const startOfUtcDay = (at: Date) => new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
const isoDay = (at: Date) => at.toISOString().slice(0, 10);
