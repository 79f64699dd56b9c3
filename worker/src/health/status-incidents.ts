import type { Logger } from 'pino';
import type { PrismaClient } from '../../../prisma/client.js';
import { describeError } from '../contracts/dependency-check.js';
import { WORKER_DEPENDENCY_COMPONENTS, type PlatformComponent } from '../contracts/platform-status.js';
import { WORKER_DEPENDENCIES, type WorkerHealthReport } from '../contracts/worker-health.js';

/**
 * Failed checks in a row before a component is recorded down. One probe that misses its deadline
 * while the host is busy is not an outage, and an incident, once opened, stays on the public page.
 */
export const FAILED_CHECKS_FOR_INCIDENT = 2;

export interface ComponentState {
  component: PlatformComponent;
  up: boolean;
  /** When a component down was first seen down, if the report says. */
  since?: Date;
}

/**
 * The public components a worker's report speaks for, up or down. A dependency it left out says
 * nothing, nor does one down for fewer than FAILED_CHECKS_FOR_INCIDENT checks: it is neither an
 * outage yet nor the end of one. A report without a streak is taken at its word.
 */
export function componentStates(report: WorkerHealthReport): ComponentState[] {
  return WORKER_DEPENDENCIES.flatMap((dependency): ComponentState[] => {
    const status = report.dependencies[dependency];
    if (!status) return [];
    const component = WORKER_DEPENDENCY_COMPONENTS[dependency];
    if (status.ok) return [{ component, up: true }];
    if ((status.failedChecks ?? FAILED_CHECKS_FOR_INCIDENT) < FAILED_CHECKS_FOR_INCIDENT) return [];
    return [{ component, up: false, since: new Date(status.downSince ?? report.reportedAt) }];
  });
}

/**
 * Opens an incident for each component down, started when it was first seen down (the partial
 * unique index keeps it to one open per component, so a component still down inserts nothing),
 * and resolves the open one of each component up. Level-triggered: every report is written, so a
 * missed one is caught by the next.
 */
export async function recordStatusIncidents(prisma: PrismaClient, states: ComponentState[], at: Date): Promise<void> {
  const down = states.filter((state) => !state.up);
  const up = states.filter((state) => state.up).map((state) => state.component);
  if (down.length > 0) {
    await prisma.platformIncident.createMany({ data: down.map(({ component, since }) => ({ component, startedAt: since ?? at })), skipDuplicates: true });
  }
  if (up.length > 0) {
    await prisma.platformIncident.updateMany({ where: { component: { in: up }, resolvedAt: null }, data: { resolvedAt: at } });
  }
}

/**
 * What the health reporter calls with each report. Never awaited by it and never rejecting: a
 * database that is down or slow must not delay the heartbeat, so a write still running makes the
 * next report skip its turn, and a failed one is logged and left to the next report.
 */
export function statusIncidentRecorder(prisma: PrismaClient, logger: Logger): (report: WorkerHealthReport) => void {
  let writing = false;
  return (report) => {
    if (writing) return;
    writing = true;
    recordStatusIncidents(prisma, componentStates(report), new Date(report.reportedAt))
      .catch((error: unknown) => logger.warn({ err: describeError(error) }, 'could not record the platform status incidents'))
      .finally(() => {
        writing = false;
      });
  };
}
