import { PROVISION_STEPS } from '../../../worker/src/contracts/provisioning.js';
import type { ProvisioningHarness } from '../../support/provisioning-harness.js';
import { percentile } from './stats.js';

/** A server's own timeline, oldest event first: what the step durations and parts are read from. */
export const timelineOf = (harness: ProvisioningHarness, serverId: string) =>
  harness.prisma.provisioningEvent.findMany({ where: { serverId }, orderBy: { id: 'asc' } });

type Timeline = Awaited<ReturnType<typeof timelineOf>>;

/** Step durations (started → succeeded). */
export function stepDurations(events: Timeline): Record<string, number> {
  const out: Record<string, number> = {};
  for (const step of PROVISION_STEPS) {
    const started = events.find((e) => e.step === step && e.status === 'started');
    const done = events.find((e) => e.step === step && e.status === 'succeeded');
    if (started && done) out[step] = done.createdAt.getTime() - started.createdAt.getTime();
  }
  return out;
}

/** The container step's parts, in the order shown: each `container.<part>` from the event's `<part>Ms`. */
const CONTAINER_PARTS = ['engine', 'spec', 'prepare', 'create', 'files', 'start', 'answering'] as const;

/**
 * The container step's parts as its `succeeded` event records them (container.step.ts): the
 * engine's start (`container.engine`, then its own parts: the spec built, the network and volumes,
 * the create, the files, Docker's start) and from then until XMPP answered (`container.answering`).
 */
export function containerParts(events: Timeline): Record<string, number> {
  const done = events.find((e) => e.step === 'container' && e.status === 'succeeded');
  const detail = (done?.detail ?? {}) as Record<string, unknown>;
  const out: Record<string, number> = {};
  for (const part of CONTAINER_PARTS) {
    const ms = detail[`${part}Ms`];
    if (typeof ms === 'number') out[`container.${part}`] = ms;
  }
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
