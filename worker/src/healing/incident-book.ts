import type { PrismaClient } from '../../../prisma/client.js';
import type { Incident } from '../../../prisma/generated/client/client.js';
import { isOutage, type FindingKind, type HealthStatus } from '../contracts/health.js';
import { isUniqueViolation } from '../../../prisma/errors.js';
import type { Timeline } from '../provisioning/timeline.js';
import type { Finding } from './diagnose.js';

/** Delay before repair attempt N+1 after attempt N; after the last, the incident needs attention. */
export const REPAIR_DELAYS_MS = [0, 2_000, 10_000, 30_000, 120_000] as const;
export const MAX_REPAIR_ATTEMPTS = REPAIR_DELAYS_MS.length;
/**
 * A finding back this soon after its incident was resolved is the same trouble (a crash loop:
 * it dies right after each repair), so its repairs keep backing off. Later, it is a new incident.
 */
export const FLAP_WINDOW_MS = 15_000;

// Worst first: a node that is down is why its servers' containers cannot be seen.
const OUTAGE_ORDER: FindingKind[] = ['node_down', 'container_missing', 'container_stopped', 'xmpp_unresponsive'];

/**
 * Incidents and the server health they add up to. Every change is on the server's timeline
 * (step `incident`, the phase and kind as data) where the customer watches it.
 */
export class IncidentBook {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly timeline: Timeline,
  ) {}

  unresolved(serverId: string): Promise<Incident[]> {
    return this.prisma.incident.findMany({ where: { serverId, resolvedAt: null }, orderBy: { openedAt: 'asc' } });
  }

  /** The unresolved incident for the finding: the open one, a recently resolved one reopened, or a new one. */
  async open(serverId: string, finding: Finding, now: Date): Promise<Incident> {
    const detail = JSON.parse(JSON.stringify(finding.detail)) as object;
    const current = await this.prisma.incident.findFirst({ where: { serverId, kind: finding.kind, resolvedAt: null } });
    if (current) return this.prisma.incident.update({ where: { id: current.id }, data: { detail } });
    const recent = await this.prisma.incident.findFirst({
      where: { serverId, kind: finding.kind, resolvedAt: { gte: new Date(now.getTime() - FLAP_WINDOW_MS) } },
      orderBy: { resolvedAt: 'desc' },
    });
    let incident: Incident;
    try {
      incident = recent
        ? await this.prisma.incident.update({ where: { id: recent.id }, data: { resolvedAt: null, status: recent.repairAttempts >= MAX_REPAIR_ATTEMPTS ? 'needs_attention' : 'open', detail } })
        : await this.prisma.incident.create({ data: { serverId, kind: finding.kind, detail, openedAt: now } });
    } catch (error) {
      // Two checks of one server at once (a pass and an event): the other opened it first.
      if (!isUniqueViolation(error)) throw error;
      return this.prisma.incident.findFirstOrThrow({ where: { serverId, kind: finding.kind, resolvedAt: null } });
    }
    await this.timeline.record(
      serverId,
      'incident',
      'failed',
      recent ? `Happened again: ${finding.kind}` : `Detected: ${finding.kind}`,
      { detail: { incidentId: incident.id, kind: finding.kind, phase: recent ? 'recurred' : 'detected', repairAttempts: incident.repairAttempts } },
      { willRetry: true, errorType: 'health_incident' },
    );
    return incident;
  }

  /** The owner asked for a start or restart: repairs that had given up may try again at once. */
  async retryAfterOwnerAction(serverId: string): Promise<void> {
    await this.prisma.incident.updateMany({
      where: { serverId, resolvedAt: null, status: 'needs_attention' },
      data: { status: 'open', repairAttempts: 0, nextRepairAt: null },
    });
  }

  /** May the incident be repaired now? Not once it needs attention, nor before its backoff ends. */
  dueForRepair(incident: Incident, now: Date): boolean {
    return incident.status === 'open' && (!incident.nextRepairAt || incident.nextRepairAt <= now);
  }

  async repairFailed(incident: Incident, reason: string, errorType: string, now: Date): Promise<Incident> {
    const attempts = incident.repairAttempts + 1;
    const exhausted = attempts >= MAX_REPAIR_ATTEMPTS;
    const delay = REPAIR_DELAYS_MS[Math.min(attempts, REPAIR_DELAYS_MS.length - 1)] ?? 0;
    const updated = await this.prisma.incident.update({
      where: { id: incident.id },
      data: {
        repairAttempts: attempts,
        lastRepairAt: now,
        nextRepairAt: exhausted ? null : new Date(now.getTime() + delay),
        lastError: reason,
        lastErrorType: errorType,
        status: exhausted ? 'needs_attention' : 'open',
      },
    });
    await this.timeline.record(
      incident.serverId,
      'incident',
      'failed',
      exhausted ? `Repair failed ${attempts} times; needs attention: ${reason}` : `Repair failed: ${reason}`,
      { detail: { incidentId: incident.id, kind: incident.kind, phase: exhausted ? 'needs_attention' : 'repair_failed', repairAttempts: attempts, retryInMs: exhausted ? null : delay } },
      { willRetry: !exhausted, errorType },
    );
    return updated;
  }

  async repaired(incident: Incident, action: string, now: Date): Promise<void> {
    const attempts = incident.repairAttempts + 1;
    await this.prisma.incident.update({
      where: { id: incident.id },
      data: { repairAttempts: attempts, lastRepairAt: now, nextRepairAt: new Date(now.getTime() + (REPAIR_DELAYS_MS[Math.min(attempts, REPAIR_DELAYS_MS.length - 1)] ?? 0)) },
    });
    await this.timeline.record(incident.serverId, 'incident', 'info', action, {
      detail: { incidentId: incident.id, kind: incident.kind, phase: 'repairing', repairAttempts: attempts },
    });
  }

  /** Closes an incident that is no longer observed, with how long it lasted. */
  async resolve(incident: Incident, now: Date): Promise<void> {
    const { count } = await this.prisma.incident.updateMany({ where: { id: incident.id, resolvedAt: null }, data: { resolvedAt: now, status: 'resolved' } });
    if (count === 0) return;
    const durationMs = now.getTime() - incident.openedAt.getTime();
    await this.timeline.record(incident.serverId, 'incident', 'succeeded', `Repaired: ${incident.kind} (lasted ${Math.round(durationMs / 100) / 10} s)`, {
      detail: { incidentId: incident.id, kind: incident.kind, phase: 'repaired', durationMs, repairAttempts: incident.repairAttempts },
    });
  }

  /** Writes the server's health as its unresolved incidents add up to; returns it. */
  async refreshHealth(serverId: string, now: Date): Promise<HealthStatus> {
    const open = await this.unresolved(serverId);
    const kinds = open.map((i) => i.kind as FindingKind);
    const outage = OUTAGE_ORDER.find((k) => kinds.includes(k));
    const health: HealthStatus = open.some((i) => i.status === 'needs_attention') ? 'needs_attention' : outage ? 'down' : open.length > 0 ? 'degraded' : 'ok';
    const issue = outage ?? kinds.find((k) => !isOutage(k)) ?? null;
    const server = await this.prisma.server.findUniqueOrThrow({ where: { id: serverId }, select: { health: true, healthIssue: true } });
    const changed = server.health !== health || server.healthIssue !== issue;
    await this.prisma.server.update({
      where: { id: serverId },
      data: { health, healthIssue: issue, healthCheckedAt: now, ...(changed ? { healthChangedAt: now } : {}) },
    });
    return health;
  }
}
