import type { DnsRecordPurpose } from '../../../../prisma/generated/client/enums.js';
import type { DnsRecord } from '../../ports/dns-provider.js';
import type { LedgerEntry } from '../dns-ledger.js';
import { customDomainHost } from '../../contracts/custom-domain.js';
import { addressRecord, planServerRecords } from '../dns-plan.js';
import { waitForRecords } from '../dns-propagation.js';
import { DnsNameTakenError, PermanentStepError } from '../step-errors.js';
import { requireNode, type StepDeps } from '../step-deps.js';
import { serverPorts } from './allocate.step.js';

export async function dnsStep(deps: StepDeps, serverId: string): Promise<string> {
  const { entries, host, where } = await serverDnsEntries(deps, serverId);
  const foreign = await deps.ledger.publishIfFree({ serverId }, entries);
  if (foreign.length > 0) throw new DnsNameTakenError(host, foreign);
  const records = entries.map((e) => e.record);
  await waitForRecords(deps.settings.dnsResolver, records, { timeoutMs: deps.settings.dnsPropagationTimeoutMs, intervalMs: 100 });
  return `Published ${records.length} DNS records for ${where}`;
}

/** The records the server needs on the node it is on now, each with the purpose the ledger files it under. */
export async function serverDnsEntries(deps: StepDeps, serverId: string): Promise<{ entries: LedgerEntry[]; host: string; where: string }> {
  const server = await requireNode(deps.prisma, serverId);
  const records = server.customDomain ? customDomainRecords(server.customDomain.id, server.node.publicAddress, deps.settings.platformZone) : await platformRecords(deps, server);
  const host = server.customDomain ? customDomainHost(server.customDomain.id, deps.settings.platformZone) : server.domain;
  return {
    entries: records.map((record) => ({ record, purpose: server.customDomain ? 'a_server' : purposeOf(record, server.domain) })),
    host,
    where: server.customDomain ? `the host ${host} that ${server.domain}'s SRV records point at` : server.domain,
  };
}

async function platformRecords(deps: StepDeps, server: Awaited<ReturnType<typeof requireNode>>): Promise<DnsRecord[]> {
  if (server.domainKind !== 'platform') throw new PermanentStepError('A custom-domain server needs its verified domain on the order.');
  const ports = await serverPorts(deps.prisma, server.id);
  return planServerRecords({
    domain: server.domain,
    nodeAddress: server.node.publicAddress,
    ports: { c2s: ports.c2s, c2sDirectTls: ports.c2s_direct_tls, s2s: ports.s2s, https: ports.https },
    federation: server.federation,
  });
}

/**
 * On a customer's domain, the SRV records are theirs (pointing at a host name of ours); Parley
 * publishes only that host's address, in its own zone.
 */
function customDomainRecords(domainId: string, nodeAddress: string, platformZone: string): DnsRecord[] {
  return [addressRecord(customDomainHost(domainId, platformZone), nodeAddress)];
}

function purposeOf(record: DnsRecord, domain: string): DnsRecordPurpose {
  if (record.type === 'SRV') {
    if (record.name.startsWith('_xmpp-client._tcp.')) return 'srv_client';
    if (record.name.startsWith('_xmpps-client._tcp.')) return 'srv_client_tls';
    if (record.name.startsWith('_xmpps-server._tcp.')) return 'srv_server_tls';
    return 'srv_server';
  }
  return record.name === domain ? 'a_server' : 'component';
}
