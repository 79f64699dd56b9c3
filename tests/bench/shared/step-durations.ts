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

/** The p50 of each step over several servers' durations, rounded to the millisecond, in the steps' order. */
export function stepP50s(durations: readonly Record<string, number>[]): Record<string, number | null> {
  return Object.fromEntries(
    PROVISION_STEPS.map((step) => {
      const values = durations.map((d) => d[step]).filter((ms): ms is number => ms !== undefined);
      return [step, values.length > 0 ? Math.round(percentile(values, 50)) : null];
    }),
  );
}
