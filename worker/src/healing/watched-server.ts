import type { PrismaClient } from '../../../prisma/client.js';
import type { Prisma } from '../../../prisma/generated/client/client.js';
import type { DnsRecord } from '../ports/dns-provider.js';
import type { PublishedPort } from '../ports/container-runtime.js';
import type { HealthStatus } from '../contracts/health.js';
import { CONTAINER_PORTS } from '../provisioning/server-spec.js';

/** A provisioned server as the reconciler compares it: what the database says should exist. */
export interface WatchedServer {
  id: string;
  domain: string;
  desiredState: 'running' | 'stopped';
  /** As last written: a pass only queues a check where something is, or was, wrong. */
  health: HealthStatus;
  containerId: string | null;
  nodeName: string;
  nodeAddress: string;
  c2sPort: number;
  /** What the container must publish, from the port allocations. */
  ports: PublishedPort[];
  certificateSerial: string | null;
  /** The version of the Prosody configuration last installed (PROSODY_CONFIG_VERSION). */
  configVersion: number;
  /** Ledger-owned records that were applied, by zone. */
  records: { zone: string; record: DnsRecord }[];
}

const include = {
  node: { select: { name: true, publicAddress: true } },
  portAllocations: { select: { purpose: true, port: true } },
  certificates: { where: { status: 'active' as const }, orderBy: { createdAt: 'desc' as const }, take: 1, select: { serial: true } },
  dnsRecords: { where: { deletedAt: null, appliedAt: { not: null } }, select: { zone: true, name: true, type: true, value: true, ttl: true } },
} satisfies Prisma.ServerInclude;

/** Servers past provisioning and not being deleted: the only ones whose health is observed. */
const watchedWhere = { deletedAt: null, desiredState: { in: ['running' as const, 'stopped' as const] }, state: { in: ['ready' as const, 'stopped' as const] } };

/** One page of watched servers on these nodes, in id order (`after` is the last id of the page before). */
export async function loadWatchedPage(prisma: PrismaClient, nodeIds: string[], after: string | null, limit: number): Promise<WatchedServer[]> {
  const rows = await prisma.server.findMany({
    where: { ...watchedWhere, nodeId: { in: nodeIds }, ...(after ? { id: { gt: after } } : {}) },
    orderBy: { id: 'asc' },
    take: limit,
    include,
  });
  return rows.flatMap((row) => toWatched(row));
}

export async function loadWatched(prisma: PrismaClient, serverId: string): Promise<WatchedServer | null> {
  const row = await prisma.server.findFirst({ where: { ...watchedWhere, id: serverId }, include });
  return row ? (toWatched(row)[0] ?? null) : null;
}

type Row = Prisma.ServerGetPayload<{ include: typeof include }>;

function toWatched(row: Row): WatchedServer[] {
  const port = (purpose: keyof typeof CONTAINER_PORTS) => row.portAllocations.find((p) => p.purpose === purpose)?.port;
  const c2sPort = port('c2s');
  // A server without its node or ports never finished allocating: nothing to compare yet.
  if (!row.node || c2sPort === undefined || row.desiredState === 'deleted') return [];
  const nodeAddress = row.node.publicAddress;
  return [
    {
      id: row.id,
      domain: row.domain,
      desiredState: row.desiredState,
      health: row.health,
      containerId: row.containerId,
      nodeName: row.node.name,
      nodeAddress,
      c2sPort,
      ports: (Object.keys(CONTAINER_PORTS) as (keyof typeof CONTAINER_PORTS)[]).flatMap((purpose) => {
        const hostPort = port(purpose);
        return hostPort === undefined ? [] : [{ containerPort: CONTAINER_PORTS[purpose], hostPort, hostIp: nodeAddress }];
      }),
      certificateSerial: row.certificates[0]?.serial ?? null,
      configVersion: row.configVersion,
      records: row.dnsRecords.map(({ zone, name, type, value, ttl }) => ({ zone, record: { name, type, value, ttl } })),
    },
  ];
}
