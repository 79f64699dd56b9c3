import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverBackupJobId, serverRestoreJobId } from '../../worker/src/contracts/provisioning.js';
import { startApiHarness, withToken, type ApiHarness, type TestAccount } from '../support/api-harness.js';
import { readyServer } from '../support/api-tenant-fixtures.js';
import { provisioningQueue } from '../support/provisioning-queue.js';

interface BackupList {
  schedule: { intervalMinutes: number; keep: { last: number; daily: number; weekly: number }; nextAt: string | null };
  items: { id: string; kind: string; status: string; error: string | null; errorType: string | null; sizeBytes: number | null }[];
}

let harness: ApiHarness;
let queue: Queue;
let closeQueue: (() => Promise<void>) | undefined;
let owner: TestAccount;

beforeAll(async () => {
  harness = await startApiHarness();
  ({ queue, close: closeQueue } = provisioningQueue(harness.redis.url));
  owner = await harness.signUp();
});

afterAll(async () => {
  await closeQueue?.();
  await harness?.close();
});

const list = async (serverId: string, account = owner) => {
  const answer = await harness.inject({ method: 'GET', url: `/api/v1/servers/${serverId}/backups`, headers: withToken(account) });
  expect(answer.statusCode, answer.body).toBe(200);
  return answer.json<BackupList>();
};

describe('backups of a server', () => {
  it("shows the plan's schedule and, before any backup, when the first is due", async () => {
    const server = await readyServer(harness, owner);
    const readyAt = new Date('2026-11-30T00:00:00.000Z');
    await harness.prisma.server.update({ where: { id: server.id }, data: { readyAt } });
    const listed = await list(server.id);
    // The fixture's server is on the Team plan: every 6 hours, the last 4 + 14 daily + 8 weekly.
    expect(listed).toEqual({ schedule: { intervalMinutes: 360, keep: { last: 4, daily: 14, weekly: 8 }, nextAt: '2026-11-30T06:00:00.000Z' }, items: [] });
  });

  it('backs up on demand: one row and one job, and asking again while it is queued returns the same backup', async () => {
    const server = await readyServer(harness, owner);
    const first = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/backups`, headers: withToken(owner) });
    expect(first.statusCode, first.body).toBe(202);
    const backup = first.json<{ id: string; kind: string; status: string }>();
    expect(backup).toMatchObject({ kind: 'on_demand', status: 'queued' });
    expect(await queue.getJob(serverBackupJobId(backup.id))).toBeDefined();

    const again = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/backups`, headers: withToken(owner) });
    expect(again.json<{ id: string }>().id).toBe(backup.id);
    const listed = await list(server.id);
    expect(listed.items.map((item) => item.id)).toEqual([backup.id]);
    expect(listed.schedule.nextAt, 'no scheduled backup is due while one is under way').toBeNull();
    expect(await harness.prisma.auditLog.count({ where: { action: 'server.backup', targetId: server.id } })).toBe(1);
  });

  it("tells a customer why a backup failed in Parley's words, and never lists a forgotten one", async () => {
    const server = await readyServer(harness, owner);
    await harness.prisma.serverBackup.createMany({
      data: [
        { serverId: server.id, kind: 'scheduled', status: 'failed', lastError: 'restic failed on s3:https://10.0.0.5/bucket: dial tcp 10.0.0.5:443: i/o timeout', lastErrorType: 'backup_repository_unavailable' },
        { serverId: server.id, kind: 'scheduled', status: 'forgotten', snapshotId: 'f'.repeat(64) },
      ],
    });
    const [failed, ...rest] = (await list(server.id)).items;
    expect(rest).toEqual([]);
    expect(failed).toMatchObject({ status: 'failed', errorType: 'backup_repository_unavailable', error: 'The storage that keeps backups could not be reached.' });
  });

  it('restores only a finished backup of the same server, and queues one restore job per request', async () => {
    const server = await readyServer(harness, owner);
    const other = await readyServer(harness, owner);
    const [done, failed, elsewhere] = await Promise.all([
      harness.prisma.serverBackup.create({ data: { serverId: server.id, kind: 'scheduled', status: 'succeeded', snapshotId: 'a'.repeat(64), finishedAt: new Date() } }),
      harness.prisma.serverBackup.create({ data: { serverId: server.id, kind: 'scheduled', status: 'failed' } }),
      harness.prisma.serverBackup.create({ data: { serverId: other.id, kind: 'scheduled', status: 'succeeded', snapshotId: 'b'.repeat(64), finishedAt: new Date() } }),
    ]);
    const restore = (backupId: string) => harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/backups/${backupId}/restore`, headers: withToken(owner) });

    const refused = await restore(failed.id);
    expect(refused.statusCode).toBe(409);
    expect(refused.json<{ detail: string }>().detail).toContain('only a finished backup can be restored');
    expect((await restore(elsewhere.id)).statusCode, "another server's backup is not this server's").toBe(404);

    const accepted = await restore(done.id);
    expect(accepted.statusCode, accepted.body).toBe(202);
    const { requestId } = accepted.json<{ requestId: string }>();
    expect(await queue.getJob(serverRestoreJobId(server.id, requestId))).toBeDefined();
    expect(await harness.prisma.auditLog.findFirst({ where: { action: 'server.restore', targetId: server.id } })).toMatchObject({ detail: { backupId: done.id } });
  });

  it('refuses while the server is being set up, restored or deleted, and changes nothing', async () => {
    for (const change of [{ state: 'certificate' as const }, { state: 'restoring' as const }, { desiredState: 'deleted' as const }]) {
      const server = await readyServer(harness, owner);
      await harness.prisma.server.update({ where: { id: server.id }, data: change });
      const answer = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/backups`, headers: withToken(owner) });
      expect(answer.statusCode, JSON.stringify(change)).toBe(409);
      expect(await harness.prisma.serverBackup.count({ where: { serverId: server.id } })).toBe(0);
    }
  });

  it("orders a clone from a finished backup of the caller's own server; another account's backup, an unfinished one, or one with an import too are refused, changing nothing", async () => {
    const buyer = await harness.signUp();
    const source = await readyServer(harness, buyer);
    const [done, failed] = [
      await harness.prisma.serverBackup.create({ data: { serverId: source.id, kind: 'on_demand', status: 'succeeded', snapshotId: 'abcdef12', finishedAt: new Date() } }),
      await harness.prisma.serverBackup.create({ data: { serverId: source.id, kind: 'on_demand', status: 'failed' } }),
    ];
    const order = (account: TestAccount, body: object) =>
      harness.inject({ method: 'POST', url: '/api/v1/servers', headers: withToken(account), payload: { name: `k${Math.random().toString(36).slice(2, 10)}`, ...body } });
    const stranger = await harness.signUp();
    const refusals: { account: TestAccount; body: object; status: number; says: RegExp }[] = [
      { account: stranger, body: { cloneFromBackupId: done.id }, status: 400, says: /no backup with id/ },
      { account: buyer, body: { cloneFromBackupId: failed.id }, status: 409, says: /only a finished backup/ },
      { account: buyer, body: { cloneFromBackupId: done.id, importId: done.id }, status: 400, says: /not both/ },
      { account: buyer, body: { cloneFromBackupId: 'latest' }, status: 400, says: /finished backup/ },
    ];
    for (const { account, body, status, says } of refusals) {
      const answer = await order(account, body);
      expect(answer.statusCode, `${JSON.stringify(body)}: ${answer.body}`).toBe(status);
      expect(answer.json<{ detail: string }>().detail).toMatch(says);
    }
    expect(await harness.prisma.server.count({ where: { accountId: { in: [buyer.id, stranger.id] } } }), 'only the source exists').toBe(1);

    const cloned = await order(buyer, { cloneFromBackupId: done.id });
    expect(cloned.statusCode, cloned.body).toBe(202);
    const { id } = cloned.json<{ id: string }>();
    expect((await harness.prisma.server.findUniqueOrThrow({ where: { id } })).cloneBackupId).toBe(done.id);
    expect(await harness.prisma.auditLog.findFirst({ where: { action: 'server.create', targetId: id } })).toMatchObject({ detail: { cloneFromBackupId: done.id } });
  });

  it('answers 503 and writes nothing when the queue is down', async () => {
    const server = await readyServer(harness, owner);
    await harness.redis.pause();
    try {
      const answer = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/backups`, headers: withToken(owner) });
      expect(answer.statusCode, answer.body).toBe(503);
    } finally {
      await harness.redis.resume();
    }
    expect(await harness.prisma.serverBackup.count({ where: { serverId: server.id } })).toBe(0);
    expect(await harness.prisma.auditLog.count({ where: { action: 'server.backup', targetId: server.id } })).toBe(0);
  });

});
