import type { DnsRecord } from '../../worker/src/ports/dns-provider.js';
import { challengeDelegations } from '../../worker/src/provisioning/challenge-delegation.js';
import { certificateNames } from '../../worker/src/provisioning/dns-plan.js';
import type { ProvisioningHarness } from './provisioning-harness.js';
import { tearDownAll } from './tear-down.js';
import { testEnv } from './test-env.js';

/** A customer's own DNS host, played by a zone of our own on the sandbox PowerDNS. */
export async function pdnsZone(method: 'POST' | 'DELETE', zone: string): Promise<void> {
  const env = testEnv();
  const base = `${env.PDNS_API_URL}/api/v1/servers/localhost/zones`;
  const response = await fetch(method === 'POST' ? base : `${base}/${zone}.`, {
    method,
    headers: { 'X-API-Key': env.PDNS_API_KEY, 'content-type': 'application/json' },
    ...(method === 'POST' ? { body: JSON.stringify({ name: `${zone}.`, kind: 'Native', nameservers: [`ns1.${env.PLATFORM_ZONE}.`] }) } : {}),
  });
  if (!response.ok) throw new Error(`PowerDNS ${method} zone ${zone}: HTTP ${response.status} ${await response.text()}`);
}

/** The `_acme-challenge` CNAMEs a customer creates for a server on their domain, as the API tells them. */
export function challengeCnames(domainId: string, zone: string): DnsRecord[] {
  return challengeDelegations({ id: domainId, name: zone }, certificateNames(zone), testEnv().PLATFORM_ZONE).map((d) => ({
    name: d.name,
    type: 'CNAME',
    ttl: 60,
    value: d.target,
  }));
}

/** Deletes the server, closes the harness and removes the customer's zone; each step runs, and any failure is thrown. */
export async function tearDownCustomerDomain(harness: ProvisioningHarness, serverId: string, zone: string): Promise<void> {
  await tearDownAll([
    async () => {
      await harness.deprovision(serverId);
      await harness.waitForState(serverId, 'deleted', 60_000);
    },
    () => harness.close(),
    () => pdnsZone('DELETE', zone),
  ]);
}
