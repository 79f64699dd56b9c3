import { PROVISION_STEPS } from '../../../worker/src/contracts/provisioning.js';
import type { ProvisioningHarness } from '../../support/provisioning-harness.js';
import { percentile } from './stats.js';

/** Step durations (started → succeeded) from the server's own timeline. */
export async function stepDurations(harness: ProvisioningHarness, serverId: string): Promise<Record<string, number>> {
  const events = await harness.prisma.provisioningEvent.findMany({ where: { serverId }, orderBy: { id: 'asc' } });
  const out: Record<string, number> = {};
  for (const step of PROVISION_STEPS) {
    const started = events.find((e) => e.step === step && e.status === 'started');
    const done = events.find((e) => e.step === step && e.status === 'succeeded');
    if (started && done) out[step] = done.createdAt.getTime() - started.createdAt.getTime();
  }
  return out;
}

/**
 * The container step's parts as its `succeeded` event records them (container.step.ts): the
 * engine's start (`container.engine`) and from then until XMPP answered (`container.answering`).
 */
export async function containerParts(harness: ProvisioningHarness, serverId: string): Promise<Record<string, number>> {
  const done = await harness.prisma.provisioningEvent.findFirst({ where: { serverId, step: 'container', status: 'succeeded' }, orderBy: { id: 'asc' } });
  const detail = (done?.detail ?? {}) as Record<string, unknown>;
  const out: Record<string, number> = {};
  if (typeof detail.engineMs === 'number') out['container.engine'] = detail.engineMs;
  if (typeof detail.answeringMs === 'number') out['container.answering'] = detail.answeringMs;
  return out;
}

/** The p50 of each key over several records, rounded to the millisecond, in the keys' order (null where none has it). */
export function p50s(records: readonly Record<string, number>[], keys: readonly string[]): Record<string, number | null> {
  return Object.fromEntries(
    keys.map((key) => {
      const values = records.map((r) => r[key]).filter((ms): ms is number => ms !== undefined);
      return [key, values.length > 0 ? Math.round(percentile(values, 50)) : null];
    }),
  );
}

/** The p50 of each step over several servers' durations, in the steps' order. */
export const stepP50s = (durations: readonly Record<string, number>[]) => p50s(durations, PROVISION_STEPS);
