import type { PrismaClient } from '../../../prisma/client.js';
import type { ContainerRuntime } from '../ports/container-runtime.js';
import { PROSODY_METRICS } from '../provisioning/prosody-config.js';
import type { MetricsRoute } from './metrics-http-server.js';

const SERVER_ID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const FETCH_TIMEOUT_MS = 5_000;

/** One http_sd group: Prometheus keeps the labels, and `__metrics_path__` picks the server. */
interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/**
 * Prometheus' service discovery of hosted servers and the scrape of each, on the worker's
 * metrics listener. Every server that should be running on this node is a target (so one that
 * is down scrapes as `up == 0`, which is what the alert looks for); its metrics come from
 * Prosody's mod_http_openmetrics on the container's own address, which only the node reaches:
 * neither the public nor other tenants ever see them.
 */
export function serverMetricsRoutes(deps: { prisma: PrismaClient; containers: ContainerRuntime; nodeName: string; listenAddress: () => string }): MetricsRoute[] {
  const json = (body: unknown) => ({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
  return [
    {
      path: /^\/targets\/servers$/,
      answer: async () => {
        const servers = await deps.prisma.server.findMany({
          where: { deletedAt: null, desiredState: 'running', state: 'ready', node: { name: deps.nodeName } },
          select: { id: true, domain: true },
          orderBy: { id: 'asc' },
        });
        const groups: TargetGroup[] = servers.map((s) => ({ targets: [deps.listenAddress()], labels: { __metrics_path__: `/servers/${s.id}/metrics`, server_id: s.id, domain: s.domain } }));
        return json(groups);
      },
    },
    {
      path: new RegExp(`^/servers/(${SERVER_ID})/metrics$`),
      answer: async ([serverId = '']) => {
        const [container] = (await deps.containers.listOwned(serverId)).containers;
        if (!container?.address || container.state !== 'running') {
          return { status: 503, contentType: 'text/plain', body: `server ${serverId} is not running on this node\n` };
        }
        const response = await fetch(`http://${container.address}:${PROSODY_METRICS.port}${PROSODY_METRICS.path}`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
        return { status: response.ok ? 200 : 502, contentType: response.headers.get('content-type') ?? 'text/plain', body: await response.text() };
      },
    },
  ];
}
