import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PowerDnsProvider } from '../../worker/src/adapters/powerdns.dns-provider.js';
import type { DnsRecord } from '../../worker/src/ports/dns-provider.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { testEnv } from '../support/test-env.js';
import { until } from '../support/until.js';

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

/** The API refuses such a name at the order; the worker checks the provider itself before publishing. */
describe('a name whose DNS already has records Parley did not create', () => {
  let harness: ProvisioningHarness;
  const env = testEnv();
  const dns = new PowerDnsProvider({ apiUrl: env.PDNS_API_URL, apiKey: env.PDNS_API_KEY, serverId: 'localhost', zone: env.PLATFORM_ZONE });

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(32_500);
  });

  afterAll(async () => {
    await harness.close();
  });

  it('fails at the DNS step for good, publishes nothing and leaves those records alone', async () => {
    const { serverId, domain } = await harness.placeOrder();
    const foreign: DnsRecord = { name: `_xmpp-client._tcp.${domain}`, type: 'SRV', ttl: 300, value: '10 0 5222 legacy-host.example.' };
    await dns.addRecords(env.PLATFORM_ZONE, [foreign]);
    try {
      await harness.provision(serverId);
      await harness.waitForState(serverId, 'failed', 60_000);

      const failed = await harness.prisma.provisioningEvent.findFirstOrThrow({ where: { serverId, status: 'failed' } });
      expect(failed).toMatchObject({ step: 'dns', errorType: 'dns_name_taken', willRetry: false });
      expect(await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } })).toMatchObject({ state: 'failed', stateReasonType: 'dns_name_taken' });
      expect(failed.message).toContain(`${domain} already has DNS records that Parley did not create (SRV 10 0 5222 legacy-host.example. at _xmpp-client._tcp.${domain})`);
      expect(await harness.prisma.dnsRecord.count({ where: { serverId } })).toBe(0);
      expect(await harness.prisma.certificate.count({ where: { serverId } })).toBe(0);
      expect(await dns.listRecords(env.PLATFORM_ZONE, foreign.name)).toEqual([foreign]);
      expect(await dns.listRecords(env.PLATFORM_ZONE, domain)).toEqual([]);
    } finally {
      await dns.removeRecords(env.PLATFORM_ZONE, [foreign]);
      await harness.deprovision(serverId);
      await until('the failed server deleted', () => harness.prisma.server.findFirst({ where: { id: serverId, state: 'deleted' } }));
    }
  });
});
