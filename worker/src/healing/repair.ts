import type { FindingKind } from '../contracts/health.js';
import type { DnsRecord } from '../ports/dns-provider.js';
import { buildServerSpec } from '../provisioning/server-spec.js';
import type { StepDeps } from '../provisioning/step-deps.js';
import { waitForXmppService } from '../provisioning/xmpp-readiness.js';
import type { Finding } from './diagnose.js';
import type { WatchedServer } from './watched-server.js';

/** Container findings by how much one repair fixes: recreating also restarts and reinstalls. */
export const CONTAINER_REPAIR_ORDER: FindingKind[] = ['container_missing', 'container_spec_drift', 'ports_mismatch', 'container_stopped', 'xmpp_unresponsive', 'certificate_mismatch'];

/**
 * Puts back what a finding says is wrong, touching only what Parley owns: its labelled container
 * (recreated from the server's volumes, so the data stays) and values its DNS ledger holds.
 * Returns what was done, in the customer's words.
 */
export async function repair(deps: StepDeps, server: WatchedServer, finding: Finding): Promise<string> {
  switch (finding.kind) {
    case 'container_missing':
    case 'container_spec_drift':
    case 'ports_mismatch':
      return recreate(deps, server, finding.kind !== 'container_missing');
    case 'container_stopped':
      await deps.containers.startServer(server.id);
      await waitUntilAnswering(deps, server);
      return 'Started the server again; XMPP answers';
    case 'xmpp_unresponsive':
      await deps.containers.restartServer(server.id);
      await waitUntilAnswering(deps, server);
      return 'Restarted the server; XMPP answers again';
    case 'certificate_mismatch':
      return reinstallCertificate(deps, server);
    case 'dns_record_missing':
      return putBackRecords(deps, finding.detail.records);
  }
}

async function recreate(deps: StepDeps, server: WatchedServer, replace: boolean): Promise<string> {
  if (replace) await deps.containers.discardContainer(server.id);
  const { spec } = await buildServerSpec(deps, server.id);
  const { containerId } = await deps.containers.ensureServer(spec);
  await deps.prisma.server.update({ where: { id: server.id }, data: { containerId, specHash: spec.specHash } });
  // The customer stopped it: it comes back as they left it.
  if (server.desiredState === 'stopped') {
    await deps.containers.stopServer(server.id);
    return 'Recreated the server from its data (left stopped, as you asked)';
  }
  await waitUntilAnswering(deps, server);
  return 'Recreated the server from its data; XMPP answers again';
}

async function reinstallCertificate(deps: StepDeps, server: WatchedServer): Promise<string> {
  const { spec } = await buildServerSpec(deps, server.id);
  await deps.containers.writeFiles(server.id, spec.files);
  const reload = await deps.containers.exec(server.id, ['prosodyctl', 'reload']);
  if (reload.exitCode !== 0) throw new Error(`Prosody did not reload: ${(reload.stderr || reload.stdout).trim()}`);
  return 'Reinstalled the TLS certificate and reloaded the server';
}

async function putBackRecords(deps: StepDeps, records: { zone: string; record: DnsRecord }[]): Promise<string> {
  const byZone = new Map<string, DnsRecord[]>();
  for (const { zone, record } of records) byZone.set(zone, [...(byZone.get(zone) ?? []), record]);
  // Adding keeps any other value at the name: a value Parley did not write is not Parley's to remove.
  for (const [zone, values] of byZone) await deps.dns.addRecords(zone, values);
  return `Put back ${records.length} DNS record${records.length === 1 ? '' : 's'}: ${records.map((r) => `${r.record.name} ${r.record.type}`).join(', ')}`;
}

async function waitUntilAnswering(deps: StepDeps, server: WatchedServer): Promise<void> {
  await waitForXmppService({ host: server.nodeAddress, port: server.c2sPort, domain: server.domain, timeoutMs: deps.settings.serviceStartTimeoutMs });
}
