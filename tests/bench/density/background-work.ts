// What else the worker ran while the timed orders ran: the periodic jobs (reconcile passes, the
// account census, backups) that BullMQ keeps once done, each as the share of the orders' time
// that at least one job of that name was running. Jobs removed once done (compliance checks,
// heals) are not seen; an order's own steps are left out.
import type { Job, Queue } from 'bullmq';
import { PROVISION_STEPS } from '../../../worker/src/contracts/provisioning.js';

/** When a timed order ran, in epoch milliseconds. */
export interface Window {
  from: number;
  to: number;
}

const ownSteps: ReadonlySet<string> = new Set(PROVISION_STEPS);

/** Milliseconds of `window` covered by the union of `spans`. */
function covered(window: Window, spans: readonly Window[]): number {
  const clipped = spans
    .map((s) => ({ from: Math.max(s.from, window.from), to: Math.min(s.to, window.to) }))
    .filter((s) => s.to > s.from)
    .sort((a, b) => a.from - b.from);
  let total = 0;
  let reach = window.from;
  for (const span of clipped) {
    if (span.to <= reach) continue;
    total += span.to - Math.max(span.from, reach);
    reach = span.to;
  }
  return total;
}

/** When each periodic job ran, by job name: BullMQ's finished and active jobs, the order's own steps left out. */
export async function jobSpans(queues: readonly Queue[]): Promise<Map<string, Window[]>> {
  const jobs: Job[] = (await Promise.all(queues.map((q) => q.getJobs(['completed', 'failed', 'active'])))).flat();
  const spans = new Map<string, Window[]>();
  for (const job of jobs) {
    if (ownSteps.has(job.name) || job.processedOn === undefined) continue;
    const list = spans.get(job.name) ?? [];
    list.push({ from: job.processedOn, to: job.finishedOn ?? Date.now() });
    spans.set(job.name, list);
  }
  return spans;
}

/** Per job name, the share (0-1) of the windows' total time during which such a job was running. */
export function backgroundShare(spans: ReadonlyMap<string, readonly Window[]>, windows: readonly Window[]): Record<string, number> {
  const total = windows.reduce((sum, w) => sum + (w.to - w.from), 0);
  const shares: Record<string, number> = {};
  for (const [name, list] of [...spans].sort(([a], [b]) => a.localeCompare(b))) {
    const share = windows.reduce((sum, w) => sum + covered(w, list), 0) / total;
    if (share > 0) shares[name] = share;
  }
  return shares;
}

/** Whether a job of that kind ran during any part of `window`. */
export const overlapped = (window: Window, spans: readonly Window[] | undefined): boolean => covered(window, spans ?? []) > 0;
