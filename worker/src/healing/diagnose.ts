import type { FindingKind } from '../contracts/health.js';
import type { DnsRecord } from '../ports/dns-provider.js';
import type { ContainerState, PublishedPort } from '../ports/container-runtime.js';
import type { WatchedServer } from './watched-server.js';
import type { XmppCheck } from './xmpp-check.js';
import { PROSODY_CONFIG_VERSION } from '../provisioning/prosody-config.js';

/** What was seen of one server: its container (null: none), XMPP (null: not asked) and the zone. */
export interface Observation {
  container: { id: string; state: ContainerState; ports: PublishedPort[] } | null;
  xmpp: XmppCheck | null;
  /** Whether the server's node is down (the runtime's view): nothing else of it can be seen. */
  nodeDown: boolean;
  /** Config-volume files that are gone (null: not looked at). */
  missingFiles: string[] | null;
  /** `zone|name|type|value` of every record value present in the zones of the server's ledger. */
  zoneKeys: ReadonlySet<string>;
}

export type Finding =
  | { kind: Exclude<FindingKind, 'dns_record_missing'>; detail: Record<string, string | number | null> }
  | { kind: 'dns_record_missing'; detail: { records: { zone: string; record: DnsRecord }[] } };

export const zoneKey = (zone: string, r: Pick<DnsRecord, 'name' | 'type' | 'value'>): string => `${zone}|${r.name}|${r.type}|${r.value}`;

const portKey = (p: PublishedPort) => `${p.hostIp}:${p.hostPort}->${p.containerPort}`;

/** Desired against observed, for one server: pure, so every rule has a unit test. */
export function diagnose(server: WatchedServer, seen: Observation): Finding[] {
  const findings: Finding[] = [];
  const missing = server.records.filter((r) => !seen.zoneKeys.has(zoneKey(r.zone, r.record)));
  const dns: Finding[] = missing.length > 0 ? [{ kind: 'dns_record_missing', detail: { records: missing } }] : [];
  if (seen.nodeDown) return [{ kind: 'node_down', detail: { node: server.nodeName } }, ...dns];
  const { container } = seen;
  if (!container) return [{ kind: 'container_missing', detail: { expected: server.containerId } }, ...dns];
  // Parley records the id of the container it made: another one under the same name and labels
  // was made behind its back, with a spec Parley cannot vouch for.
  if (server.containerId && container.id !== server.containerId) {
    findings.push({ kind: 'container_spec_drift', detail: { expected: server.containerId, found: container.id } });
  }
  if (seen.missingFiles && seen.missingFiles.length > 0) findings.push({ kind: 'config_files_missing', detail: { files: seen.missingFiles.join(', ') } });
  else if (server.configVersion < PROSODY_CONFIG_VERSION) findings.push({ kind: 'config_outdated', detail: { installed: server.configVersion, current: PROSODY_CONFIG_VERSION } });
  if (container.state !== 'running') {
    if (server.desiredState === 'running') findings.push({ kind: 'container_stopped', detail: { state: container.state } });
    return [...findings, ...dns];
  }
  const want = server.ports.map(portKey).sort().join(',');
  const have = container.ports.map(portKey).sort().join(',');
  if (want !== have) findings.push({ kind: 'ports_mismatch', detail: { expected: want, found: have } });
  if (seen.xmpp && !seen.xmpp.answers) {
    findings.push({ kind: 'xmpp_unresponsive', detail: { reason: seen.xmpp.reason } });
  } else if (seen.xmpp?.answers && server.certificateSerial && seen.xmpp.certificateSerial !== server.certificateSerial) {
    findings.push({ kind: 'certificate_mismatch', detail: { expected: server.certificateSerial, found: seen.xmpp.certificateSerial } });
  }
  return [...findings, ...dns];
}
