import type { DnsRecordPurpose } from '../../../../prisma/generated/client/enums.js';
import type { DnsRecord } from '../../ports/dns-provider.js';
import { planServerRecords } from '../dns-plan.js';
import { waitForRecords } from '../dns-propagation.js';
import { PermanentStepError } from '../step-errors.js';
import { requireNode, type StepDeps } from '../step-deps.js';
import { serverPorts } from './allocate.step.js';

export async function dnsStep(deps: StepDeps, serverId: string): Promise<string> {
  const server = await requireNode(deps.prisma, serverId);
  if (server.domainKind !== 'platform') {
    throw new PermanentStepError('Custom domains are published by their owner; this order needs a platform subdomain.');
  }
  const ports = await serverPorts(deps.prisma, serverId);
  const records = planServerRecords({
    domain: server.domain,
    nodeAddress: server.node.publicAddress,
    ports: { c2s: ports.c2s, c2sDirectTls: ports.c2s_direct_tls, s2s: ports.s2s, https: ports.https },
    federation: server.federation,
  });
  const leftAlone = await deps.ledger.publish(
    serverId,
    records.map((record) => ({ record, purpose: purposeOf(record, server.domain) })),
  );
  const published = records.filter((r) => !leftAlone.some((l) => l.record === r));
  await waitForRecords(deps.settings.dnsResolver, records, { timeoutMs: deps.settings.dnsPropagationTimeoutMs, intervalMs: 100 });
  const note = leftAlone.length > 0 ? `; ${leftAlone.length} identical record(s) were already in the zone and left as they are` : '';
  return `Published ${published.length} DNS records for ${server.domain}${note}`;
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
