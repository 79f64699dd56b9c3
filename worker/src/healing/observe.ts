import type { ContainerRuntime, OwnedContainer, OwnedObjects } from '../ports/container-runtime.js';
import type { DnsProvider } from '../ports/dns-provider.js';
import { zoneKey, type Observation } from './diagnose.js';
import type { WatchedServer } from './watched-server.js';
import { checkXmpp } from './xmpp-check.js';
import { prosodyFilePaths } from '../provisioning/prosody-config.js';
import { CONTAINER_PORTS } from '../provisioning/server-spec.js';

export interface ObserveDeps {
  containers: ContainerRuntime;
  dns: DnsProvider;
  xmppTimeoutMs: number;
  /** XMPP checks at once: enough to finish a large pass quickly, few enough not to flood a node. */
  xmppConcurrency: number;
}

/**
 * Looks at servers as they are: their containers (from one engine listing), XMPP (a STARTTLS
 * check of each running one), DNS (the record values present, listed by the caller) and the
 * nodes that are down (asked by the caller).
 */
export async function observe(
  deps: ObserveDeps,
  servers: WatchedServer[],
  owned: OwnedObjects,
  down: ReadonlySet<string>,
  zoneKeys: ReadonlySet<string>,
  files: 'all' | 'certificate',
): Promise<Map<string, Observation>> {
  // A pass stats only the certificate (one engine call per server); a missing configuration or
  // key shows at the next start, whose repair writes every file again.
  const pathsOf = (domain: string) => (files === 'all' ? prosodyFilePaths(domain) : [prosodyFilePaths(domain)[1]]);
  const byServer = new Map(owned.containers.map((c) => [c.serverId, c]));
  const present = servers.filter((s) => byServer.has(s.id));
  const running = present.filter((s) => byServer.get(s.id)?.state === 'running');
  const [xmpp, missing] = await Promise.all([
    inLanes(deps.xmppConcurrency, running, (s) => checkXmpp({ ...xmppAddress(s, byServer.get(s.id)), domain: s.domain, timeoutMs: deps.xmppTimeoutMs })),
    inLanes(deps.xmppConcurrency, present, async (s) => {
      const container = byServer.get(s.id);
      return container ? deps.containers.missingFiles(container, pathsOf(s.domain)).catch(() => null) : null;
    }),
  ]);
  return new Map(
    servers.map((server) => {
      const container = byServer.get(server.id);
      return [
        server.id,
        {
          container: container ? { id: container.id, state: container.state, ports: container.ports } : null,
          xmpp: xmpp.get(server.id) ?? null,
          nodeDown: down.has(server.nodeName),
          missingFiles: missing.get(server.id) ?? null,
          zoneKeys,
        },
      ];
    }),
  );
}

/**
 * Prosody itself, at the container's address: the engine's port proxy costs a third of a check's
 * CPU, and what it publishes is compared with the allocations from the listing instead.
 */
function xmppAddress(server: WatchedServer, container: OwnedContainer | undefined): { host: string; port: number } {
  return container?.address ? { host: container.address, port: CONTAINER_PORTS.c2s } : { host: server.nodeAddress, port: server.c2sPort };
}

/** The record values present in whole zones (a pass: one listing per zone). */
export async function zoneContents(dns: DnsProvider, zones: Iterable<string>): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const zone of new Set(zones)) for (const record of await dns.listRecords(zone)) keys.add(zoneKey(zone, record));
  return keys;
}

/** The values present at one server's ledger names (a single check: one listing per name). */
export async function recordsAt(dns: DnsProvider, server: WatchedServer): Promise<Set<string>> {
  const keys = new Set<string>();
  const names = new Map(server.records.map(({ zone, record }) => [`${zone}|${record.name}`, { zone, name: record.name }]));
  for (const { zone, name } of names.values()) for (const record of await dns.listRecords(zone, name)) keys.add(zoneKey(zone, record));
  return keys;
}

/** Runs `look` for each server, `lanes` at a time; results by server id. */
async function inLanes<T>(lanes: number, servers: WatchedServer[], look: (server: WatchedServer) => Promise<T>): Promise<Map<string, T>> {
  const queue = [...servers];
  const results = new Map<string, T>();
  const lane = async () => {
    for (let server = queue.shift(); server; server = queue.shift()) results.set(server.id, await look(server));
  };
  await Promise.all(Array.from({ length: Math.max(1, lanes) }, lane));
  return results;
}
