import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeDrainJobId, serverMoveJobId } from '../../worker/src/contracts/provisioning.js';
import { startApiHarness, withToken, type ApiHarness, type TestAccount } from '../support/api-harness.js';
import { readyServer } from '../support/api-tenant-fixtures.js';
import { provisioningQueue } from '../support/provisioning-queue.js';

let harness: ApiHarness;
let queue: Queue;
let closeQueue: (() => Promise<void>) | undefined;
let customer: TestAccount;
let operator: TestAccount;

beforeAll(async () => {
  harness = await startApiHarness();
  ({ queue, close: closeQueue } = provisioningQueue(harness.redis.url));
  [customer, operator] = [await harness.signUp(), await harness.signUp({ operator: true })];
});

afterAll(async () => {
  await closeQueue?.();
  await harness?.close();
});

/** A node of its own for each test: a unique name, address and port range. */
async function aNode(ports = 400, state: 'active' | 'draining' = 'active') {
  const name = `n${randomBytes(4).toString('hex')}`;
  const start = 20_000 + Math.floor(Math.random() * 40_000);
  return harness.prisma.node.create({
    data: { name, hostname: `${name}.${harness.config.platformZone}`, publicAddress: '127.0.0.1', dockerEndpoint: 'unix:///var/run/docker.sock', portRangeStart: start, portRangeEnd: start + ports - 1, state },
  });
}

/** A ready server of `customer` placed on `nodeId` with its four ports. */
async function serverOn(nodeId: string, firstPort: number) {
  const server = await readyServer(harness, customer);
  await harness.prisma.server.update({ where: { id: server.id }, data: { nodeId } });
  await harness.prisma.portAllocation.createMany({
    data: (['c2s', 'c2s_direct_tls', 's2s', 'https'] as const).map((purpose, i) => ({ nodeId, serverId: server.id, purpose, port: firstPort + i })),
  });
  return server;
}

const move = (body: object, as = operator) => harness.inject({ method: 'POST', url: '/api/v1/operator/moves', headers: withToken(as), payload: body });

describe('nodes and moving servers between them (operators)', () => {
  it('lists the nodes with their servers and free ports, to operators only', async () => {
    const node = await aNode(10);
    await serverOn(node.id, node.portRangeStart);
    const answer = await harness.inject({ method: 'GET', url: '/api/v1/operator/nodes', headers: withToken(operator) });
    expect(answer.statusCode, answer.body).toBe(200);
    const listed = answer.json<{ items: { id: string; servers: number; portsFree: number; state: string }[] }>().items.find((n) => n.id === node.id);
    expect(listed).toMatchObject({ servers: 1, portsFree: 6, state: 'active' });
    const asCustomer = await harness.inject({ method: 'GET', url: '/api/v1/operator/nodes', headers: withToken(customer) });
    expect(asCustomer.statusCode).toBe(403);
  });

  it('queues a move: one job carrying the request id, and an audit row naming both nodes', async () => {
    const [from, to] = [await aNode(), await aNode()];
    const server = await serverOn(from.id, from.portRangeStart);
    const answer = await move({ serverId: server.id, nodeId: to.id });
    expect(answer.statusCode, answer.body).toBe(202);
    const { requestId } = answer.json<{ requestId: string }>();
    const job = await queue.getJob(serverMoveJobId(server.id, requestId));
    expect(job?.data).toEqual({ serverId: server.id, nodeId: to.id, requestId, from: 'running' });
    const audit = await harness.prisma.auditLog.findFirstOrThrow({ where: { action: 'server.move', targetId: server.id } });
    expect(audit).toMatchObject({ actorId: operator.id, detail: { fromNode: from.name, toNode: to.name, requestId, from: 'running' } });
  });

  it('queues a restore from the latest backup onto another node for a server whose node is lost, failed or not, once it has a backup', async () => {
    const [from, to] = [await aNode(), await aNode()];
    const server = await serverOn(from.id, from.portRangeStart);
    await harness.prisma.server.update({ where: { id: server.id }, data: { state: 'failed' } });
    const body = { serverId: server.id, nodeId: to.id, from: 'latest_backup' };
    const withoutBackup = await move(body);
    expect(withoutBackup.statusCode, withoutBackup.body).toBe(409);
    expect(withoutBackup.json<{ detail: string }>().detail).toMatch(/no backup to start from/);
    await harness.prisma.serverBackup.create({ data: { serverId: server.id, kind: 'scheduled', status: 'failed' } });
    expect((await move(body)).statusCode).toBe(409);
    await harness.prisma.serverBackup.create({ data: { serverId: server.id, kind: 'scheduled', status: 'succeeded', snapshotId: 'a1b2c3d4', startedAt: new Date(), finishedAt: new Date() } });
    const answer = await move(body);
    expect(answer.statusCode, answer.body).toBe(202);
    const { requestId } = answer.json<{ requestId: string }>();
    expect((await queue.getJob(serverMoveJobId(server.id, requestId)))?.data).toEqual({ ...body, requestId });
    const audit = await harness.prisma.auditLog.findFirstOrThrow({ where: { action: 'server.move', targetId: server.id } });
    expect(audit.detail).toMatchObject({ from: 'latest_backup', toNode: to.name });
    // A plain move of a failed server is still refused: there is no running server to stop and copy.
    const plain = await move({ serverId: server.id, nodeId: to.id });
    expect(plain.statusCode).toBe(409);
    expect(plain.json<{ detail: string }>().detail).toMatch(/it can move once it is ready or stopped/);
    const unknown = await move({ ...body, from: 'yesterday' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json<{ detail: string }>().detail).toMatch(/running, latest_backup/);
  });

  it('refuses, with a reason and changing nothing: a customer, unknown ids, the same node, a draining or full node, a server not settled', async () => {
    const [from, to, draining, full] = [await aNode(), await aNode(), await aNode(400, 'draining'), await aNode(3)];
    const server = await serverOn(from.id, from.portRangeStart);
    const cases: { body: object; as?: TestAccount; status: number; says: RegExp }[] = [
      { body: { serverId: server.id, nodeId: to.id }, as: customer, status: 403, says: /operator/i },
      { body: { serverId: server.id, nodeId: '00000000-0000-7000-8000-000000000000' }, status: 404, says: /no node/ },
      { body: { serverId: '00000000-0000-7000-8000-000000000000', nodeId: to.id }, status: 404, says: /no server/ },
      { body: { serverId: server.id, nodeId: 'node-b' }, status: 400, says: /node id/ },
      { body: { serverId: server.id, nodeId: from.id }, status: 409, says: /already runs on node/ },
      { body: { serverId: server.id, nodeId: draining.id }, status: 409, says: /draining/ },
      { body: { serverId: server.id, nodeId: full.id }, status: 409, says: /no free ports/ },
    ];
    const audits = await harness.prisma.auditLog.count({ where: { action: 'server.move' } });
    for (const { body, as, status, says } of cases) {
      const answer = await move(body, as);
      expect(answer.statusCode, `${JSON.stringify(body)}: ${answer.body}`).toBe(status);
      expect(answer.json<{ detail: string }>().detail).toMatch(says);
    }
    await harness.prisma.server.update({ where: { id: server.id }, data: { state: 'restoring' } });
    const busy = await move({ serverId: server.id, nodeId: to.id });
    expect(busy.statusCode).toBe(409);
    expect(busy.json<{ detail: string }>().detail).toMatch(/restoring/);
    expect(await harness.prisma.auditLog.count({ where: { action: 'server.move' } })).toBe(audits);
    const queued = await queue.getJobs(['waiting', 'delayed', 'prioritized', 'active']);
    expect(queued.filter((job) => job.name === 'server-move' && (job.data as { serverId: string }).serverId === server.id)).toEqual([]);
  });

  it('drains a node: it takes no new servers at once, the first round is queued, the audit row names it; activating it again is audited too', async () => {
    const [drained] = [await aNode(), await aNode()];
    const answer = await harness.inject({ method: 'POST', url: `/api/v1/operator/nodes/${drained.id}/drain`, headers: withToken(operator) });
    expect(answer.statusCode, answer.body).toBe(202);
    const { requestId } = answer.json<{ requestId: string }>();
    expect((await harness.prisma.node.findUniqueOrThrow({ where: { id: drained.id } })).state).toBe('draining');
    expect((await queue.getJob(nodeDrainJobId({ nodeId: drained.id, requestId, round: 0 })))?.data).toEqual({ nodeId: drained.id, requestId, round: 0 });
    expect(await harness.prisma.auditLog.findFirstOrThrow({ where: { action: 'node.drain', targetId: drained.id } })).toMatchObject({ actorId: operator.id, detail: { node: drained.name, requestId, stateBefore: 'active' } });

    const activated = await harness.inject({ method: 'POST', url: `/api/v1/operator/nodes/${drained.id}/activate`, headers: withToken(operator), payload: {} });
    expect(activated.statusCode, activated.body).toBe(200);
    expect(activated.json()).toMatchObject({ id: drained.id, state: 'active' });
    expect(await harness.prisma.auditLog.count({ where: { action: 'node.activate', targetId: drained.id } })).toBe(1);
    // Already active: answered, nothing written.
    expect((await harness.inject({ method: 'POST', url: `/api/v1/operator/nodes/${drained.id}/activate`, headers: withToken(operator) })).statusCode).toBe(200);
    expect(await harness.prisma.auditLog.count({ where: { action: 'node.activate', targetId: drained.id } })).toBe(1);
  });

  it('refuses a drain with nowhere to go, an unknown node and a customer, changing nothing', async () => {
    const lone = await aNode();
    // Every other node drains for this case: none is left to take the servers.
    const others = await harness.prisma.node.findMany({ where: { state: 'active', id: { not: lone.id } }, select: { id: true } });
    await harness.prisma.node.updateMany({ where: { id: { in: others.map((n) => n.id) } }, data: { state: 'draining' } });
    try {
      const nowhere = await harness.inject({ method: 'POST', url: `/api/v1/operator/nodes/${lone.id}/drain`, headers: withToken(operator) });
      expect(nowhere.statusCode, nowhere.body).toBe(409);
      expect(nowhere.json<{ detail: string }>().detail).toMatch(/No other node is active/);
    } finally {
      await harness.prisma.node.updateMany({ where: { id: { in: others.map((n) => n.id) } }, data: { state: 'active' } });
    }
    const unknown = await harness.inject({ method: 'POST', url: '/api/v1/operator/nodes/00000000-0000-7000-8000-000000000000/drain', headers: withToken(operator) });
    expect(unknown.statusCode).toBe(404);
    const asCustomer = await harness.inject({ method: 'POST', url: `/api/v1/operator/nodes/${lone.id}/drain`, headers: withToken(customer) });
    expect(asCustomer.statusCode).toBe(403);
    expect((await harness.prisma.node.findUniqueOrThrow({ where: { id: lone.id } })).state).toBe('active');
    expect(await harness.prisma.auditLog.count({ where: { action: 'node.drain', targetId: lone.id } })).toBe(0);
  });
});
