import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { testEnv } from '../support/test-env.js';

/**
 * The API refuses these names too; this proves the worker does as well, for a row written any
 * other way: each order fails at its first step with nothing created anywhere.
 */
describe('a domain that could inject into Lua or DNS is refused before any side effect', () => {
  let harness: ProvisioningHarness;
  const docker = new Docker({ socketPath: testEnv().DOCKER_SOCKET });

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(32_000);
  });

  afterAll(async () => {
    await harness.close();
  });

  it.each([
    ['a quote', 'evil"x'],
    ['a newline', 'evil\nx'],
    ['a Lua long-string end', 'evil]]x'],
    ['a control character', 'evil\u0007x'],
    ['a Cyrillic look-alike', 'p\u0430ypal'],
  ])('%s', async (_what, label) => {
    const { serverId } = await harness.placeOrder({ label });
    await harness.provision(serverId);
    await harness.waitForState(serverId, 'failed', 30_000);

    const server = await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } });
    expect(server.stateReason).toMatch(/domain/i);
    expect(await harness.prisma.portAllocation.count({ where: { serverId } })).toBe(0);
    expect(await harness.prisma.dnsRecord.count({ where: { serverId } })).toBe(0);
    expect(await harness.prisma.certificate.count({ where: { serverId } })).toBe(0);
    expect(await harness.prisma.provisioningEvent.count({ where: { serverId, status: 'succeeded' } })).toBe(0);
    expect(await docker.listContainers({ all: true, filters: { label: [`parley.server=${serverId}`] } })).toHaveLength(0);
  });
});
