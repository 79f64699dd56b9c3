import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHarness, type ApiHarness } from '../support/api-harness.js';

let harness: ApiHarness;

beforeAll(async () => {
  harness = await startApiHarness();
});

afterAll(async () => {
  await harness?.close();
});

describe('GET /api/v1/plans', () => {
  it('lists the active plans with their quotas to anyone, smallest first', async () => {
    await harness.prisma.plan.create({
      data: { code: 'retired', name: 'Retired', maxServers: 9, maxUsersPerServer: 9, storageMiB: 9, memoryMiB: 64, cpuMillis: 100, pidsLimit: 32, active: false },
    });
    const answer = await harness.inject({ method: 'GET', url: '/api/v1/plans' });
    expect(answer.statusCode).toBe(200);
    const personal = await harness.prisma.plan.findUniqueOrThrow({ where: { code: 'personal' } });
    const { items } = answer.json<{ items: { code: string }[] }>();
    expect(items.map((p) => p.code)).toEqual(['personal', 'team']);
    expect(items[0]).toEqual({
      code: 'personal',
      name: personal.name,
      maxServers: personal.maxServers,
      maxUsersPerServer: personal.maxUsersPerServer,
      storageMiB: personal.storageMiB,
      memoryMiB: personal.memoryMiB,
    });
  });

  it('refuses unknown query parameters', async () => {
    expect((await harness.inject({ method: 'GET', url: '/api/v1/plans?all=1' })).statusCode).toBe(400);
  });
});
