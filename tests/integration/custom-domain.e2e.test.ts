import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customDomainHost } from '../../worker/src/contracts/custom-domain.js';
import { PowerDnsProvider } from '../../worker/src/adapters/powerdns.dns-provider.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { pebbleIssuers } from '../support/pebble.js';
import { testEnv } from '../support/test-env.js';
import { challengeCnames, pdnsZone, tearDownCustomerDomain } from '../support/customer-zone.js';
import { connectAs } from '../support/xmpp.js';

describe('a server on a customer\'s own domain', () => {
  const env = testEnv();
  const customerZone = `c${randomBytes(5).toString('hex')}.example`;
  const customer = new PowerDnsProvider({ apiUrl: env.PDNS_API_URL, apiKey: env.PDNS_API_KEY, serverId: 'localhost', zone: customerZone });
  let harness: ProvisioningHarness;
  let serverId: string;
  let domainId: string;

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(37_000);
    await pdnsZone('POST', customerZone);
    ({ serverId, domainId } = await harness.placeCustomDomainOrder(customerZone));
    await customer.addRecords(customerZone, challengeCnames(domainId, customerZone));
  });

  afterAll(() => tearDownCustomerDomain(harness, serverId, customerZone));

  it('gets a certificate through the delegated challenge and logs in under the customer\'s domain', async () => {
    await harness.provision(serverId);
    await harness.waitForState(serverId, 'ready', 120_000);

    const resolver = new Resolver();
    resolver.setServers([env.DNS_RESOLVER]);
    const host = customDomainHost(domainId, env.PLATFORM_ZONE);
    expect(await resolver.resolve4(host)).toEqual(['127.0.0.1']);

    const certificate = await harness.prisma.certificate.findFirstOrThrow({ where: { serverId, status: 'active' } });
    expect(certificate.names.sort()).toEqual([customerZone, `conference.${customerZone}`, `upload.${customerZone}`].sort());
    // Parley wrote nothing into the customer's zone, and left no challenge answer behind in its own.
    expect((await customer.listRecords(customerZone)).filter((r) => r.type === 'TXT')).toEqual([]);
    expect(await harness.prisma.dnsRecord.count({ where: { serverId, purpose: 'acme_challenge', deletedAt: null } })).toBe(0);

    const c2s = await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId, purpose: 'c2s' } });
    const admin = await harness.adminPassword(serverId);
    const session = await connectAs({
      host: '127.0.0.1',
      port: c2s.port,
      domain: customerZone,
      username: 'admin',
      password: admin.password,
      trustedCaPems: [(await pebbleIssuers()).root.toString()],
      timeoutMs: 15_000,
    });
    expect(session.jid.startsWith(`admin@${customerZone}/`)).toBe(true);
    await session.close();
  }, 150_000);
});
