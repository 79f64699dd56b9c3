import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHarness, withToken, type ApiHarness, type TestAccount } from '../support/api-harness.js';
import { readyServer } from '../support/api-tenant-fixtures.js';
import { expectEvery } from '../support/expect-every.js';

interface Usage {
  sampledAt: string | null;
  limits: { users: number; storageBytes: number };
  latest: { registeredUsers: number; onlineUsers: number; uploadBytes: number; archiveBytes: number } | null;
  messagesToday: number;
  ranges: { days: number; bucketMinutes: number; points: { at: string; registeredUsers: number; onlineUsers: number; storageBytes: number }[]; messagesPerDay: { day: string; messages: number }[] }[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let harness: ApiHarness;
let owner: TestAccount;

beforeAll(async () => {
  harness = await startApiHarness();
  owner = await harness.signUp();
});

afterAll(async () => {
  await harness?.close();
});

const usageOf = async (serverId: string, account = owner) => {
  const answer = await harness.inject({ method: 'GET', url: `/api/v1/servers/${serverId}/usage`, headers: withToken(account) });
  expect(answer.statusCode, answer.body).toBe(200);
  return answer.json<Usage>();
};

const sample = (serverId: string, takenAt: Date, values: { registered: number; online: number; upload: number; archive: number }) => ({
  serverId,
  takenAt,
  registeredUsers: values.registered,
  onlineUsers: values.online,
  uploadBytes: BigInt(values.upload),
  archiveBytes: BigInt(values.archive),
});

describe('a server\'s usage', () => {
  it('before the first count: the plan\'s limits (the fixture\'s plan is team), no figures, every day of each range at zero', async () => {
    const server = await readyServer(harness, owner);
    const usage = await usageOf(server.id);
    const plan = await harness.prisma.plan.findUniqueOrThrow({ where: { code: 'team' } });
    expect(usage.sampledAt).toBeNull();
    expect(usage.latest).toBeNull();
    expect(usage.limits).toEqual({ users: plan.maxUsersPerServer, storageBytes: plan.storageMiB * 1024 * 1024 });
    expect(usage.ranges.map((range) => [range.days, range.bucketMinutes, range.points.length, range.messagesPerDay.length])).toEqual([
      [7, 60, 0, 7],
      [30, 360, 0, 30],
    ]);
    expectEvery(usage.ranges.flatMap((range) => range.messagesPerDay.map((day) => day.messages)), (messages) => messages === 0);
  });

  it('answers the latest sample, each bucket\'s peak within its range only, and messages per day', async () => {
    const server = await readyServer(harness, owner);
    const now = Date.now();
    const hourStart = Math.floor(now / HOUR) * HOUR;
    await harness.prisma.serverUsageSample.createMany({
      data: [
        // Two samples in the current hour: its point is their peak.
        sample(server.id, new Date(hourStart + 1_000), { registered: 3, online: 2, upload: 100, archive: 50 }),
        sample(server.id, new Date(hourStart + 2_000), { registered: 4, online: 1, upload: 300, archive: 60 }),
        // Ten days ago: in the month's chart, not the week's.
        sample(server.id, new Date(now - 10 * DAY), { registered: 1, online: 1, upload: 10, archive: 10 }),
        // Two months ago: in neither.
        sample(server.id, new Date(now - 60 * DAY), { registered: 9, online: 9, upload: 9, archive: 9 }),
      ],
    });
    const today = new Date(new Date(now).toISOString().slice(0, 10));
    await harness.prisma.serverMessageDay.createMany({
      data: [
        { serverId: server.id, day: today, messages: 12 },
        { serverId: server.id, day: new Date(today.getTime() - 2 * DAY), messages: 5 },
        { serverId: server.id, day: new Date(today.getTime() - 40 * DAY), messages: 99 },
      ],
    });
    const usage = await usageOf(server.id);
    expect(usage.sampledAt).toBe(new Date(hourStart + 2_000).toISOString());
    expect(usage.latest).toEqual({ registeredUsers: 4, onlineUsers: 1, uploadBytes: 300, archiveBytes: 60 });
    expect(usage.messagesToday).toBe(12);
    const [week, month] = usage.ranges;
    expect(week?.points).toEqual([{ at: new Date(hourStart).toISOString(), registeredUsers: 4, onlineUsers: 2, storageBytes: 360 }]);
    expect(month?.points.map((point) => point.registeredUsers)).toEqual([1, 4]);
    expect(week?.messagesPerDay.at(-1)).toEqual({ day: today.toISOString().slice(0, 10), messages: 12 });
    expect(week?.messagesPerDay.at(-3)?.messages).toBe(5);
    expect(month?.messagesPerDay.reduce((sum, day) => sum + day.messages, 0)).toBe(17);
  });

  it('is not found for another account, and for an id that is no server', async () => {
    const server = await readyServer(harness, owner);
    const stranger = await harness.signUp();
    const answer = await harness.inject({ method: 'GET', url: `/api/v1/servers/${server.id}/usage`, headers: withToken(stranger) });
    expect(answer.statusCode).toBe(404);
    const bad = await harness.inject({ method: 'GET', url: '/api/v1/servers/not-a-uuid/usage', headers: withToken(owner) });
    expect(bad.statusCode).toBe(400);
  });
});
