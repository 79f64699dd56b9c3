import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPONENT_LABELS, customDomainHost, delegatedChallengeName } from '../../worker/src/contracts/custom-domain.js';
import { PowerDnsProvider } from '../../worker/src/adapters/powerdns.dns-provider.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { pebbleIssuers } from '../support/pebble.js';
import { testEnv } from '../support/test-env.js';
import { connectAs } from '../support/xmpp.js';

/** The customer's DNS host, played by a zone of our own on the sandbox PowerDNS. */
async function pdnsZone(method: 'POST' | 'DELETE', zone: string): Promise<void> {
  const env = testEnv();
  const base = `${env.PDNS_API_URL}/api/v1/servers/localhost/zones`;
  const response = await fetch(method === 'POST' ? base : `${base}/${zone}.`, {
    method,
    headers: { 'X-API-Key': env.PDNS_API_KEY, 'content-type': 'application/json' },
    ...(method === 'POST' ? { body: JSON.stringify({ name: `${zone}.`, kind: 'Native', nameservers: [`ns1.${env.PLATFORM_ZONE}.`] }) } : {}),
  });
  if (!response.ok) throw new Error(`PowerDNS ${method} zone ${zone}: HTTP ${response.status} ${await response.text()}`);
}

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
    const delegations = [customerZone, ...COMPONENT_LABELS.map((c) => `${c}.${customerZone}`)].map((name) => ({
      name: `_acme-challenge.${name}`,
      type: 'CNAME' as const,
      ttl: 60,
      value: `${delegatedChallengeName({ id: domainId, name: customerZone }, name, env.PLATFORM_ZONE)}.`,
    }));
    await customer.addRecords(customerZone, delegations);
  });

  afterAll(async () => {
    await harness.deprovision(serverId);
    await harness.waitForState(serverId, 'deleted', 60_000).catch(() => undefined);
    await harness.close();
    await pdnsZone('DELETE', customerZone);
  });

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
  });
});
