import type { FastifyBaseLogger } from 'fastify';
import type { PrismaClient } from '../../../prisma/client.js';
import { describeError } from '../../../worker/src/contracts/dependency-check.js';
import { PLATFORM_COMPONENTS, type PlatformComponent } from '../../../worker/src/contracts/platform-status.js';
import type { CheckName, ReadinessReport } from '../health/readiness.js';

/** How far back the public page lists incidents (by when they ended), and how many at most. */
export const INCIDENT_WINDOW_DAYS = 14;
export const INCIDENT_LIMIT = 20;
/**
 * How long one answer is reused. The route is public and unauthenticated: without this, every
 * request would probe Postgres and Redis and query the incidents, so anyone could turn a flood of
 * requests into load on the database. A few seconds is still fresher than the worker's reports.
 */
export const STATUS_CACHE_MS = 5_000;

const COMPONENT_NAMES: Record<PlatformComponent, string> = {
  containers: 'Hosted servers',
  api: 'Ordering and dashboard',
  worker: 'Setting up and changing servers',
  dns: 'DNS',
  certificates: 'Certificates',
};

/** The readiness checks each component needs up; the worker does nothing without its database and queue. */
const COMPONENT_CHECKS: Record<PlatformComponent, readonly CheckName[]> = {
  containers: ['docker'],
  api: ['database', 'redis'],
  worker: ['database', 'redis', 'worker'],
  dns: ['dns'],
  certificates: ['ca'],
};

type ComponentStatus = 'up' | 'down';
type OverallStatus = 'operational' | 'degraded' | 'down';

export interface PlatformStatus {
  status: OverallStatus;
  checkedAt: string;
  components: { code: PlatformComponent; name: string; status: ComponentStatus }[];
  incidents: { component: PlatformComponent; name: string; startedAt: string; resolvedAt: string | null }[];
}

/** Each component up or down from the readiness report: only whether each check passed, never its detail. */
export function componentsOf(report: ReadinessReport): PlatformStatus['components'] {
  return PLATFORM_COMPONENTS.map((code) => ({
    code,
    name: COMPONENT_NAMES[code],
    status: COMPONENT_CHECKS[code].every((check) => report.checks[check].ok) ? 'up' : 'down',
  }));
}

/** Operational when everything is up, down when nothing is, degraded in between. */
export function overallStatus(components: PlatformStatus['components']): OverallStatus {
  const down = components.filter((component) => component.status === 'down').length;
  if (down === 0) return 'operational';
  return down === components.length ? 'down' : 'degraded';
}

/** The public status page's answer, computed at most once per STATUS_CACHE_MS and shared meanwhile. */
export class StatusService {
  private cached: { answer: Promise<PlatformStatus>; expiresAt: number } | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly readiness: () => Promise<ReadinessReport>,
    private readonly log: FastifyBaseLogger,
  ) {}

  current(now = Date.now()): Promise<PlatformStatus> {
    if (!this.cached || this.cached.expiresAt <= now) {
      this.cached = { answer: this.compute(new Date(now)), expiresAt: now + STATUS_CACHE_MS };
    }
    return this.cached.answer;
  }

  private async compute(now: Date): Promise<PlatformStatus> {
    const report = await this.readiness();
    const components = componentsOf(report);
    // Without the database there is no history to show, and asking would only wait for it.
    const incidents = report.checks.database.ok ? await this.recentIncidents(now) : [];
    return { status: overallStatus(components), checkedAt: now.toISOString(), components, incidents };
  }

  private async recentIncidents(now: Date): Promise<PlatformStatus['incidents']> {
    try {
      const rows = await this.prisma.platformIncident.findMany({
        // Any incident that touched the window: one still going on shows however old it is.
        where: { component: { in: [...PLATFORM_COMPONENTS] }, OR: [{ resolvedAt: null }, { resolvedAt: { gte: new Date(now.getTime() - INCIDENT_WINDOW_DAYS * 86_400_000) } }] },
        orderBy: [{ startedAt: 'desc' }, { id: 'desc' }],
        take: INCIDENT_LIMIT,
      });
      return rows.map((row) => {
        const component = row.component as PlatformComponent;
        return { component, name: COMPONENT_NAMES[component], startedAt: row.startedAt.toISOString(), resolvedAt: row.resolvedAt?.toISOString() ?? null };
      });
    } catch (error) {
      // The database went away between the check and the query: the page still answers.
      this.log.warn({ err: describeError(error) }, 'could not read the platform incidents for the status page');
      return [];
    }
  }
}
