import type { PrismaClient } from '../../../../prisma/client.js';
import type { PortPurpose } from '../../../../prisma/generated/client/enums.js';
import { NoCapacityError } from '../step-errors.js';
import { isUniqueViolation } from '../../../../prisma/errors.js';

export const PORT_PURPOSES: readonly PortPurpose[] = ['c2s', 'c2s_direct_tls', 's2s', 'https'];
export type AllocatedPorts = Record<PortPurpose, number>;

const MAX_ATTEMPTS = 8;

/**
 * Reserves a node and one host port per purpose. The (node, port) and (server, purpose) unique
 * constraints make it race-safe: two allocators that pick the same port collide on insert and
 * the loser picks again; a re-run finds its ports already held and changes nothing. Ports the
 * engine already publishes for somebody else's container are skipped too.
 */
export async function allocateStep(
  prisma: PrismaClient,
  serverId: string,
  publishedHostPorts: () => Promise<ReadonlySet<number>>,
  downNodes: () => Promise<ReadonlySet<string>>,
): Promise<string> {
  const down = await downNodes();
  const result = await reservingPorts(prisma, publishedHostPorts, async (tx, taken) => {
    const server = await tx.server.findUniqueOrThrow({ where: { id: serverId }, include: { portAllocations: true } });
    const held = new Set(server.portAllocations.map((a) => a.purpose));
    const missing = PORT_PURPOSES.filter((p) => !held.has(p));
    if (server.nodeId && missing.length === 0) return { nodeId: server.nodeId, reused: true };

    const node = server.nodeId
      ? await tx.node.findUniqueOrThrow({ where: { id: server.nodeId } })
      : await leastLoadedNode(tx, (await tx.plan.findUniqueOrThrow({ where: { id: server.planId } })).memoryMiB, down);
    const free = await freePorts(tx, node, missing.length, taken);
    await tx.portAllocation.createMany({
      data: missing.map((purpose, i) => ({ nodeId: node.id, serverId, purpose, port: free[i] ?? 0 })),
    });
    if (!server.nodeId) await tx.server.update({ where: { id: serverId }, data: { nodeId: node.id } });
    return { nodeId: node.id, reused: false };
  });
  const ports = await serverPorts(prisma, serverId);
  const list = PORT_PURPOSES.map((p) => `${p} ${ports[p]}`).join(', ');
  return result.reused ? `Ports already reserved (${list})` : `Reserved ports ${list}`;
}

/**
 * Runs `reserve` in a transaction with the host ports the engine publishes now. The (node, port)
 * unique constraint makes it race-safe: two reservations that pick the same port collide on
 * insert, and the loser runs again (a few times at most) with what is taken then.
 */
export async function reservingPorts<T>(prisma: PrismaClient, publishedHostPorts: () => Promise<ReadonlySet<number>>, reserve: (tx: Tx, taken: ReadonlySet<number>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const taken = await publishedHostPorts();
    try {
      return await prisma.$transaction((tx) => reserve(tx, taken));
    } catch (error) {
      if (isUniqueViolation(error) && attempt < MAX_ATTEMPTS) continue;
      throw error;
    }
  }
}

export async function serverPorts(prisma: PrismaClient, serverId: string): Promise<AllocatedPorts> {
  const rows = await prisma.portAllocation.findMany({ where: { serverId } });
  const ports = Object.fromEntries(rows.map((r) => [r.purpose, r.port])) as Partial<AllocatedPorts>;
  for (const purpose of PORT_PURPOSES) {
    if (ports[purpose] === undefined) throw new Error(`server ${serverId} has no ${purpose} port allocated`);
  }
  return ports as AllocatedPorts;
}

export type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

type PortRange = { id: string; name: string; portRangeStart: number; portRangeEnd: number };

/** `count` ports of the node's range that no allocation holds and the engine does not publish. */
export async function freePorts(tx: Tx, node: PortRange, count: number, taken: ReadonlySet<number>): Promise<number[]> {
  const used = new Set((await tx.portAllocation.findMany({ where: { nodeId: node.id }, select: { port: true } })).map((a) => a.port));
  const free: number[] = [];
  for (let port = node.portRangeStart; port <= node.portRangeEnd && free.length < count; port++) {
    if (!used.has(port) && !taken.has(port)) free.push(port);
  }
  if (free.length < count) throw new NoCapacityError(`Node ${node.name} has no free ports left; add a node or widen its port range.`);
  return free;
}

/** Where a placed server moves (a drain, a lost node): the node a new server of its plan would get. */
export async function moveTarget(prisma: PrismaClient, serverId: string, down: ReadonlySet<string>) {
  const { plan } = await prisma.server.findUniqueOrThrow({ where: { id: serverId }, select: { plan: { select: { memoryMiB: true } } } });
  return prisma.$transaction((tx) => leastLoadedNode(tx, plan.memoryMiB, down));
}

/**
 * Where a new server of `memoryMiB` goes: among active nodes that are up (not in `down`, by name)
 * with room for it (fewer servers than their maximum, its memory within what their servers' plans
 * leave, four free ports), the one with the fewest servers (by name on a tie), so servers spread
 * evenly over the nodes that fit.
 */
export async function leastLoadedNode(tx: Tx, memoryMiB: number, down: ReadonlySet<string>) {
  // Placements one at a time: two at once would both see room for one more on a node that has it
  // for only one. The lock lasts until the caller's transaction ends, with the server placed.
  await tx.$queryRaw`SELECT id FROM nodes WHERE state = 'active' ORDER BY id FOR UPDATE`;
  const nodes = (await tx.node.findMany({ where: { state: 'active' } })).filter((node) => !down.has(node.name));
  const load = new Map(
    (
      await tx.$queryRaw<{ node_id: string; servers: bigint; memory_mib: bigint | null; ports: bigint }[]>`
        SELECT s.node_id, count(*) AS servers, sum(p.memory_mib) AS memory_mib,
               (SELECT count(*) FROM port_allocations a WHERE a.node_id = s.node_id) AS ports
        FROM servers s JOIN plans p ON p.id = s.plan_id
        WHERE s.deleted_at IS NULL AND s.node_id IS NOT NULL
        GROUP BY s.node_id`
    ).map((row) => [row.node_id, { servers: Number(row.servers), memoryMiB: Number(row.memory_mib ?? 0), ports: Number(row.ports) }]),
  );
  const loadOf = (id: string) => load.get(id) ?? { servers: 0, memoryMiB: 0, ports: 0 };
  const fitting = nodes.filter((node) => {
    const used = loadOf(node.id);
    return (
      (node.maxServers === null || used.servers < node.maxServers) &&
      (node.memoryMiB === null || used.memoryMiB + memoryMiB <= node.memoryMiB) &&
      node.portRangeEnd - node.portRangeStart + 1 - used.ports >= PORT_PURPOSES.length
    );
  });
  const node = fitting.sort((a, b) => loadOf(a.id).servers - loadOf(b.id).servers || a.name.localeCompare(b.name))[0];
  if (!node) {
    throw new NoCapacityError(
      nodes.length === 0 ? 'No active node is registered to run servers on.' : `No active node has room for another server of ${memoryMiB} MiB (servers, memory or ports); add a node or raise a node's capacity.`,
    );
  }
  return node;
}
