import type { OwnedObjects } from '../ports/container-runtime.js';
import type { StepDeps } from '../provisioning/step-deps.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Removes what Parley made and nothing needs any more: containers and volumes labelled with these
 * nodes whose server has no row or is deleted, and ledger records whose server is gone (a node's
 * own records are not). An object without one of these nodes' labels, or a record without a ledger row,
 * is never touched.
 */
export async function removeOrphans(deps: StepDeps, nodeNames: ReadonlySet<string>, owned: OwnedObjects): Promise<{ containers: number; records: number; staleCopies: number }> {
  // Each labelled server's nodes, from one walk over what the engines list.
  const nodesOf = new Map<string, Set<string>>();
  for (const o of [...owned.containers, ...owned.volumes]) {
    if (o.node === null || !nodeNames.has(o.node) || !UUID.test(o.serverId)) continue;
    const nodes = nodesOf.get(o.serverId) ?? new Set<string>();
    nodesOf.set(o.serverId, nodes.add(o.node));
  }
  const labelled = new Set(nodesOf.keys());
  const live = await deps.prisma.server.findMany({ where: { id: { in: [...labelled] }, state: { not: 'deleted' } }, select: { id: true, node: { select: { name: true } } } });
  const liveIds = new Set(live.map((s) => s.id));
  const orphans = [...labelled].filter((id) => !liveIds.has(id));
  for (const serverId of orphans) await deps.containers.removeServer(serverId);
  // A live server's objects on a node it no longer runs on: a copy kept by a node that was down
  // while the server was restored elsewhere (stale data of a customer's, so it goes).
  let staleCopies = 0;
  for (const server of live) {
    const home = server.node?.name;
    if (home !== undefined && [...(nodesOf.get(server.id) ?? [])].some((node) => node !== home)) staleCopies += await deps.containers.pruneElsewhere(server.id, home);
  }

  const records = await deps.prisma.dnsRecord.findMany({
    where: { deletedAt: null, zone: deps.settings.platformZone, OR: [{ serverId: null, nodeId: null }, { server: { state: 'deleted' } }] },
    select: { name: true, type: true, value: true, ttl: true },
  });
  const removed = records.length > 0 ? await deps.ledger.withdrawValues(records) : 0;
  return { containers: orphans.length, records: removed, staleCopies };
}
