import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVISIONING_QUEUE, stepJobId } from '../../worker/src/contracts/provisioning.js';
import { startApiHarness, withToken, type ApiHarness, type TestAccount } from '../support/api-harness.js';

let harness: ApiHarness;
let queueConnection: Redis;
let queue: Queue;

beforeAll(async () => {
  harness = await startApiHarness();
  queueConnection = new Redis(harness.redis.url, { maxRetriesPerRequest: null });
  queue = new Queue(PROVISIONING_QUEUE, { connection: queueConnection });
});

afterAll(async () => {
  await queue?.close();
  queueConnection?.disconnect();
  await harness?.close();
});

/** A server as the worker leaves it after a deletion: deleted, its final backup kept until `purgeAfter`. */
async function deletedServer(owner: TestAccount, options: { purgeAfter?: Date; finalBackup?: 'succeeded' | 'failed' | null; domain?: string } = {}) {
  const plan = await harness.prisma.plan.findUniqueOrThrow({ where: { code: 'personal' } });
  const name = `d${randomBytes(5).toString('hex')}`;
  const server = await harness.prisma.server.create({
    data: {
      accountId: owner.id,
      name,
      domain: options.domain ?? `${name}.${harness.config.platformZone}`,
      domainKind: 'platform',
      planId: plan.id,
      state: 'deleted',
      desiredState: 'deleted',
      deletedAt: new Date(),
      purgeAfter: options.purgeAfter ?? new Date(Date.now() + 86_400_000),
    },
  });
  if (options.finalBackup !== null) {
    const status = options.finalBackup ?? 'succeeded';
    const backup = await harness.prisma.serverBackup.create({ data: { serverId: server.id, kind: 'final', status, ...(status === 'succeeded' ? { snapshotId: 'c'.repeat(64), finishedAt: new Date() } : {}) } });
    return harness.prisma.server.update({ where: { id: server.id }, data: { finalBackupId: backup.id } });
  }
  return server;
}

const undo = (owner: TestAccount, id: string) => harness.inject({ method: 'POST', url: `/api/v1/deleted-servers/${id}/restore`, headers: withToken(owner) });

describe('deleted servers in their grace period', () => {
  it('lists your own, while their grace period lasts, and says which can come back', async () => {
    const [owner, stranger] = [await harness.signUp(), await harness.signUp()];
    const kept = await deletedServer(owner);
    const empty = await deletedServer(owner, { finalBackup: null });
    await deletedServer(owner, { purgeAfter: new Date(Date.now() - 1_000) });
    await deletedServer(stranger);
    const answer = await harness.inject({ method: 'GET', url: '/api/v1/deleted-servers', headers: withToken(owner) });
    expect(answer.statusCode, answer.body).toBe(200);
    const items = answer.json<{ items: { id: string; restorable: boolean }[] }>().items;
    expect(items.map((i) => [i.id, i.restorable]).sort()).toEqual([[kept.id, true], [empty.id, false]].sort());
  });

  it('undoes a deletion: the row is live again, to be set up anew on the final backup, and its order is queued', async () => {
    const owner = await harness.signUp();
    const server = await deletedServer(owner);
    // What a worker taking the first step at once would read, from outside the request's
    // transaction: before the commit it would find the server deleted and pass over it.
    const jobs = harness.app.jobs;
    const enqueue = jobs.reprovision.bind(jobs);
    let seenByWorker: string | undefined;
    jobs.reprovision = async (id) => {
      seenByWorker = (await harness.prisma.server.findUniqueOrThrow({ where: { id } })).state;
      return enqueue(id);
    };
    let answer;
    try {
      answer = await undo(owner, server.id);
    } finally {
      jobs.reprovision = enqueue;
    }
    expect(answer.statusCode, answer.body).toBe(202);
    expect(seenByWorker, 'the order is queued after it commits').toBe('ordered');
    const row = await harness.prisma.server.findUniqueOrThrow({ where: { id: server.id } });
    expect(row).toMatchObject({ deletedAt: null, state: 'ordered', desiredState: 'running', restoreBackupId: server.finalBackupId, finalBackupId: null, purgeAfter: null });
    expect(await queue.getJob(stepJobId(server.id, 'allocate'))).toBeDefined();
    expect(await harness.prisma.auditLog.findFirst({ where: { action: 'server.undelete', targetId: server.id } })).toMatchObject({ detail: { backupId: server.finalBackupId } });
    expect((await undo(owner, server.id)).statusCode, 'it is no longer a deleted server').toBe(404);
  });

  it('refuses, changing nothing, when nothing was kept, the grace period is over, the name is taken, or the quota is full', async () => {
    const owner = await harness.signUp();
    const failedBackup = await deletedServer(owner, { finalBackup: 'failed' });
    expect((await undo(owner, failedBackup.id)).statusCode).toBe(409);
    const expired = await deletedServer(owner, { purgeAfter: new Date(Date.now() - 1_000) });
    expect((await undo(owner, expired.id)).statusCode).toBe(404);
    const stranger = await harness.signUp();
    expect((await undo(stranger, (await deletedServer(owner)).id)).statusCode, "another account's deleted server").toBe(404);

    const taken = await deletedServer(owner);
    const plan = await harness.prisma.plan.findUniqueOrThrow({ where: { code: 'personal' } });
    await harness.prisma.server.create({ data: { accountId: stranger.id, name: 'squatter', domain: taken.domain, domainKind: 'platform', planId: plan.id } });
    const refused = await undo(owner, taken.id);
    expect(refused.statusCode).toBe(409);
    expect(refused.json<{ detail: string }>().detail).toContain('has been given to another server');

    const full = await harness.signUp();
    const waiting = await deletedServer(full);
    for (let i = 0; i < plan.maxServers; i++) {
      await harness.prisma.server.create({ data: { accountId: full.id, name: `live${i}`, domain: `live${i}${randomBytes(3).toString('hex')}.${harness.config.platformZone}`, domainKind: 'platform', planId: plan.id } });
    }
    expect((await undo(full, waiting.id)).statusCode).toBe(409);
    for (const id of [failedBackup.id, taken.id, waiting.id]) {
      expect(await harness.prisma.server.findUniqueOrThrow({ where: { id } })).toMatchObject({ state: 'deleted', restoreBackupId: null });
    }
    expect(await harness.prisma.auditLog.count({ where: { action: 'server.undelete', targetId: { in: [failedBackup.id, taken.id, waiting.id] } } })).toBe(0);
  });

  it('answers 503 when the queue is down, and the server stays deleted with its final backup', async () => {
    const owner = await harness.signUp();
    const server = await deletedServer(owner);
    await harness.redis.pause();
    try {
      expect((await undo(owner, server.id)).statusCode).toBe(503);
    } finally {
      await harness.redis.resume();
    }
    expect(await harness.prisma.server.findUniqueOrThrow({ where: { id: server.id } })).toMatchObject({ state: 'deleted', desiredState: 'deleted', finalBackupId: server.finalBackupId, restoreBackupId: null, purgeAfter: server.purgeAfter });
    expect(await harness.prisma.auditLog.count({ where: { action: 'server.undelete', targetId: server.id } })).toBe(0);
  });
});
