import type { FindingKind } from '../contracts/health.js';
import type { DnsRecord } from '../ports/dns-provider.js';
import { buildServerSpec, installedSpec } from '../provisioning/server-spec.js';
import type { StepDeps } from '../provisioning/step-deps.js';
import { waitForServerAnswering } from '../provisioning/server-answering.js';
import { installConfiguration, writeServerFiles } from '../provisioning/config-install.js';
import type { Finding } from './diagnose.js';
import type { WatchedServer } from './watched-server.js';

/** The repair no longer applies: the customer changed what they want since the server was observed. */
export class SupersededRepairError extends Error {
  constructor(reason: string) {
    super(`repair skipped: ${reason}`);
    this.name = 'SupersededRepairError';
  }
}

/** Container findings by how much one repair fixes: recreating also restarts and reinstalls. */
export const CONTAINER_REPAIR_ORDER: FindingKind[] = [
  'container_missing',
  'container_spec_drift',
  'ports_mismatch',
  'container_stopped',
  'xmpp_unresponsive',
  'config_files_missing',
  'config_outdated',
  'certificate_mismatch',
];

/**
 * Puts back what a finding says is wrong, touching only what Parley owns: its labelled container
 * (recreated from the server's volumes, so the data stays) and values its DNS ledger holds.
 * Returns what was done, in the customer's words.
 */
export async function repair(deps: StepDeps, observed: WatchedServer, finding: Finding): Promise<string> {
  // The customer may have stopped (or deleted) the server since it was observed: their wish wins.
  const current = await deps.prisma.server.findUnique({ where: { id: observed.id }, select: { desiredState: true } });
  if (!current || current.desiredState === 'deleted') throw new SupersededRepairError('the server is being deleted');
  const server = { ...observed, desiredState: current.desiredState };
  if (server.desiredState === 'stopped' && (finding.kind === 'container_stopped' || finding.kind === 'xmpp_unresponsive')) {
    throw new SupersededRepairError('the server was stopped by its owner meanwhile');
  }
  switch (finding.kind) {
    case 'container_missing':
    case 'container_spec_drift':
    case 'ports_mismatch':
      return recreate(deps, server, finding.kind !== 'container_missing');
    case 'container_stopped':
      // The files first: a server that died because one was gone would die again.
      await writeServerFiles(deps, server.id);
      await deps.containers.startServer(server.id);
      await waitUntilAnswering(deps, server);
      return 'Started the server again; XMPP answers';
    case 'xmpp_unresponsive':
      await writeServerFiles(deps, server.id);
      await deps.containers.restartServer(server.id);
      await waitUntilAnswering(deps, server);
      return 'Restarted the server; XMPP answers again';
    case 'config_files_missing':
    case 'config_outdated':
    case 'certificate_mismatch':
      return reinstallFiles(deps, server);
    case 'dns_record_missing':
      return putBackRecords(deps, finding.detail.records);
    case 'node_down':
      // Nothing on a node that is down can be repaired from here: heal waits for it, or restores
      // the server elsewhere (afterNodeLoss), and never gets here.
      throw new SupersededRepairError(`node ${server.nodeName} is down`);
  }
}

/** Creates (and starts) the server's container again from the database's spec and its volumes. */
export async function recreateFromVolumes(deps: StepDeps, serverId: string): Promise<void> {
  const { spec } = await buildServerSpec(deps, serverId);
  const { containerId } = await deps.containers.ensureServer(spec);
  await deps.prisma.server.update({ where: { id: serverId }, data: { containerId, ...installedSpec(spec) } });
}

async function recreate(deps: StepDeps, server: WatchedServer, replace: boolean): Promise<string> {
  if (replace) await deps.containers.discardContainer(server.id);
  await recreateFromVolumes(deps, server.id);
  // The customer stopped it: it comes back as they left it.
  if (server.desiredState === 'stopped') {
    await deps.containers.stopServer(server.id);
    return 'Recreated the server from its data (left stopped, as you asked)';
  }
  await waitUntilAnswering(deps, server);
  return 'Recreated the server from its data; XMPP answers again';
}

async function reinstallFiles(deps: StepDeps, server: WatchedServer): Promise<string> {
  const done = await installConfiguration(deps, server.id, server.desiredState !== 'stopped');
  if (done === 'restarted') await waitUntilAnswering(deps, server);
  const then = { written: '', reloaded: ' and reloaded the server', restarted: ' and restarted the server (its listeners changed)' }[done];
  return `Reinstalled the configuration and TLS certificate${then}`;
}

async function putBackRecords(deps: StepDeps, records: { zone: string; record: DnsRecord }[]): Promise<string> {
  const byZone = new Map<string, DnsRecord[]>();
  for (const { zone, record } of records) byZone.set(zone, [...(byZone.get(zone) ?? []), record]);
  // Adding keeps any other value at the name: a value Parley did not write is not Parley's to remove.
  for (const [zone, values] of byZone) await deps.dns.addRecords(zone, values);
  return `Put back ${records.length} DNS record${records.length === 1 ? '' : 's'}: ${records.map((r) => `${r.record.name} ${r.record.type}`).join(', ')}`;
}

async function waitUntilAnswering(deps: StepDeps, server: WatchedServer): Promise<void> {
  await waitForServerAnswering(deps.containers, { serverId: server.id, host: server.nodeAddress, port: server.c2sPort, domain: server.domain }, deps.settings.serviceStartTimeoutMs);
}
