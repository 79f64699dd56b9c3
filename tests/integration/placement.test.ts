import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedPlans } from '../../prisma/seed.js';
import { allocateStep } from '../../worker/src/provisioning/steps/allocate.step.js';
import { NoCapacityError } from '../../worker/src/provisioning/step-errors.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

// Placement by capacity, on a real database: servers spread over the nodes that have room for
// them (servers, the memory their plans commit, ports), and an order no node fits is refused.
describe('placing servers on nodes by capacity', { shuffle: false }, () => {
  let db: TestDatabase;
  const noPorts = () => Promise.resolve(new Set<number>());
  let down = new Set<string>();

  const node = (name: string, capacity: { maxServers?: number; memoryMiB?: number; ports?: number }) =>
    db.prisma.node.create({
      data: {
        name,
        hostname: `${name}.parley.test`,
        publicAddress: '127.0.0.1',
        dockerEndpoint: 'unix:///var/run/docker.sock',
        portRangeStart: 30_000,
        portRangeEnd: 30_000 + (capacity.ports ?? 400) - 1,
        maxServers: capacity.maxServers ?? null,
        memoryMiB: capacity.memoryMiB ?? null,
      },
    });
  const order = async (plan = 'personal') => {
    const planRow = await db.prisma.plan.findUniqueOrThrow({ where: { code: plan } });
    const label = `p${Math.random().toString(36).slice(2, 10)}`;
    const account = await db.prisma.account.create({ data: { email: `${label}@example.test`, passwordHash: 'x', planId: planRow.id } });
    const server = await db.prisma.server.create({ data: { accountId: account.id, name: label, domain: `${label}.parley.test`, domainKind: 'platform', federation: false, planId: planRow.id } });
    await allocateStep(db.prisma, server.id, noPorts, () => Promise.resolve(down));
    const { node: placed } = await db.prisma.server.findUniqueOrThrow({ where: { id: server.id }, select: { node: { select: { name: true } } } });
    return placed?.name;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    await seedPlans(db.prisma);
  });
  afterAll(async () => {
    await db.drop();
  });

  it('spreads servers evenly over the nodes with room, skipping full ones, and refuses when none fits', async () => {
    const personal = await db.prisma.plan.findUniqueOrThrow({ where: { code: 'personal' } });
    // a: one server at most; b: memory for two; c: ports for two (4 each); d: draining.
    await node('a', { maxServers: 1 });
    await node('b', { memoryMiB: personal.memoryMiB * 2 });
    await node('c', { ports: 8 });
    await db.prisma.node.update({ where: { id: (await node('d', {})).id }, data: { state: 'draining' } });
    const placed: (string | undefined)[] = [];
    for (let i = 0; i < 5; i++) placed.push(await order());
    expect(placed).toEqual(['a', 'b', 'c', 'b', 'c']);
    await expect(order()).rejects.toBeInstanceOf(NoCapacityError);
    await expect(order()).rejects.toThrow(/No active node has room for another server of \d+ MiB/);
  });

  it('never places a server on a node that is down', async () => {
    await node('e', {});
    await node('f', {});
    down = new Set(['e']);
    expect([await order(), await order()]).toEqual(['f', 'f']);
    down = new Set(['e', 'f']);
    await expect(order()).rejects.toBeInstanceOf(NoCapacityError);
    down = new Set();
    expect(await order()).toBe('e');
  });
});
