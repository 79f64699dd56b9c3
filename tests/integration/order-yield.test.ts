import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerState } from '../../prisma/generated/client/enums.js';
import { seedPlans } from '../../prisma/seed.js';
import { orderYield } from '../../worker/src/housekeeping/order-yield.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

// The census's courtesy to orders, on a real database: it waits while an order on the same node
// (or one not placed yet) is moving, not for orders elsewhere, stale ones or deleted ones, and
// never longer than its bounds per server and per pass.
describe('maintenance stepping aside for orders in flight', () => {
  let db: TestDatabase;
  let nodeA: string;
  let nodeB: string;
  let accountId: string;
  let planId: string;

  const node = async (name: string) =>
    (
      await db.prisma.node.create({
        data: { name, hostname: `${name}.parley.test`, publicAddress: '127.0.0.1', dockerEndpoint: 'unix:///var/run/docker.sock', portRangeStart: 30_000, portRangeEnd: 30_399 },
      })
    ).id;
  const order = async (fields: { state: ServerState; nodeId: string | null; stateChangedAt?: Date; deletedAt?: Date }) => {
    const label = `o${Math.random().toString(36).slice(2, 10)}`;
    return db.prisma.server.create({ data: { accountId, planId, name: label, domain: `${label}.parley.test`, domainKind: 'platform', federation: false, ...fields } });
  };
  const settle = (id: string) => db.prisma.server.update({ where: { id }, data: { state: 'ready', stateChangedAt: new Date() } });

  beforeAll(async () => {
    db = await createTestDatabase();
    await seedPlans(db.prisma);
    planId = (await db.prisma.plan.findUniqueOrThrow({ where: { code: 'personal' } })).id;
    accountId = (await db.prisma.account.create({ data: { email: 'yield@example.test', passwordHash: 'not-used', planId } })).id;
    nodeA = await node('a');
    nodeB = await node('b');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('goes on at once when no order is moving on the node', async () => {
    const yieldFor = orderYield(db.prisma, { perServerMs: 10_000, perPassMs: 60_000 });
    const stale = await order({ state: 'certificate', nodeId: nodeA, stateChangedAt: new Date(Date.now() - 120_000) });
    const deleted = await order({ state: 'starting', nodeId: nodeA, deletedAt: new Date() });
    const elsewhere = await order({ state: 'starting', nodeId: nodeB });
    const ready = await order({ state: 'ready', nodeId: nodeA });
    expect(await yieldFor(nodeA)).toBe(0);
    await db.prisma.server.deleteMany({ where: { id: { in: [stale.id, deleted.id, elsewhere.id, ready.id] } } });
  });

  it('waits until an order on the same node, or one not placed yet, is done', async () => {
    const yieldFor = orderYield(db.prisma, { perServerMs: 10_000, perPassMs: 60_000 });
    for (const nodeId of [nodeA, null]) {
      const inFlight = await order({ state: 'starting', nodeId });
      let settled = false;
      const settling = (async () => {
        await sleep(600);
        await settle(inFlight.id);
        settled = true;
      })();
      const waited = await yieldFor(nodeA);
      expect(settled).toBe(true);
      expect(waited).toBeGreaterThan(0);
      expect(waited).toBeLessThan(10_000);
      await settling;
    }
  });

  it('never waits longer than its bound per server, nor in all than its bound per pass', async () => {
    const stuck = await order({ state: 'allocating', nodeId: nodeA });
    const yieldFor = orderYield(db.prisma, { perServerMs: 300, perPassMs: 500 });
    expect(await yieldFor(nodeA)).toBe(300);
    expect(await yieldFor(nodeA)).toBe(200);
    expect(await yieldFor(nodeA)).toBe(0);
    expect(await orderYield(db.prisma, { perServerMs: 0, perPassMs: 60_000 })(nodeA)).toBe(0);
    await settle(stuck.id);
  });
});
