import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVISIONING_QUEUE, SERVER_ACTIONS, deprovisionJobId } from '../../worker/src/contracts/provisioning.js';
import { startApiHarness, withToken, type ApiHarness, type TestAccount } from '../support/api-harness.js';
import { readyServer } from '../support/api-tenant-fixtures.js';

let harness: ApiHarness;
let alice: TestAccount;
let queue: Queue;
/** BullMQ opens (and closes) its own connections from these. */
let redis: { host: string; port: number };

beforeAll(async () => {
  harness = await startApiHarness();
  alice = await harness.signUp();
  const url = new URL(harness.redis.url);
  redis = { host: url.hostname, port: Number(url.port) };
  queue = new Queue(PROVISIONING_QUEUE, { connection: redis });
});

afterAll(async () => {
  await queue.close();
  await harness?.close();
});

const remove = (server: { id: string; name: string }) =>
  harness.inject({ method: 'DELETE', url: `/api/v1/servers/${server.id}`, headers: withToken(alice), payload: { confirm: server.name } });

/** Takes the queued jobs and fails each for good, as a worker whose deletion cannot finish would. */
async function failQueuedJobs(count: number): Promise<void> {
  const worker = new Worker(PROVISIONING_QUEUE, () => Promise.reject(new UnrecoverableError('the deletion cannot finish')), { connection: redis });
  let failed = 0;
  await new Promise<void>((resolve) => {
    worker.on('failed', () => {
      failed += 1;
      if (failed === count) resolve();
    });
  });
  await worker.close();
}

describe('deleting a server', () => {
  it('re-queues a deletion that failed when DELETE is sent again, and audits both', async () => {
    const server = await readyServer(harness, alice);
    expect((await remove(server)).statusCode).toBe(202);
    await failQueuedJobs(1);
    expect(await queue.getJobState(deprovisionJobId(server.id))).toBe('failed');

    expect((await remove(server)).statusCode).toBe(202);
    expect(await queue.getJobState(deprovisionJobId(server.id))).toBe('waiting');
    const audits = await harness.prisma.auditLog.count({ where: { action: 'server.delete', targetId: server.id } });
    expect(audits).toBe(2);
  });

  it('refuses stop, start and restart once the server is being deleted, changing nothing', async () => {
    const server = await readyServer(harness, alice);
    expect((await remove(server)).statusCode).toBe(202);
    const waitingBefore = await queue.getWaitingCount();
    for (const action of SERVER_ACTIONS) {
      const answer = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/actions`, headers: withToken(alice), payload: { action } });
      expect(answer.statusCode).toBe(409);
      expect(answer.json<{ title: string; detail: string }>()).toMatchObject({ title: 'Server is being deleted' });
    }
    expect((await harness.prisma.server.findUniqueOrThrow({ where: { id: server.id } })).desiredState).toBe('deleted');
    expect(await queue.getWaitingCount()).toBe(waitingBefore);
    expect(await harness.prisma.auditLog.count({ where: { targetId: server.id, action: { in: SERVER_ACTIONS.map((a) => `server.${a}`) } } })).toBe(0);
  });
});
