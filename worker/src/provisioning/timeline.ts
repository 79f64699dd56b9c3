import type { PrismaClient } from '../../../prisma/client.js';
import type { ServerState } from '../../../prisma/generated/client/enums.js';

export type EventStatus = 'started' | 'succeeded' | 'failed' | 'info';

export interface EventContext {
  attempt?: number;
  /** How many attempts the job has in all: a failure before the last says it will be retried. */
  attempts?: number;
  jobId?: string;
  detail?: Record<string, string | number | boolean | null>;
}

/**
 * A failure as the timeline shows it: one that BullMQ retries says so, and how far along it is;
 * a permanent one (never retried) or the last attempt is the bare reason. The dashboard reads
 * the suffix (web/src/server/last-attempt.ts): keep the two in step.
 */
export function failureMessage(reason: string, context: EventContext, permanent = false): string {
  const { attempt, attempts } = context;
  return !permanent && attempt !== undefined && attempts !== undefined && attempt < attempts ? `${reason} (will retry; attempt ${attempt} of ${attempts})` : reason;
}

/** The server's timeline the customer watches, and its state; one row per step outcome. */
export class Timeline {
  constructor(private readonly prisma: PrismaClient) {}

  async record(serverId: string, step: string, status: EventStatus, message: string, context: EventContext = {}): Promise<void> {
    await this.prisma.provisioningEvent.create({
      data: {
        serverId,
        step,
        status,
        message,
        attempt: context.attempt ?? 1,
        jobId: context.jobId ?? null,
        ...(context.detail ? { detail: context.detail } : {}),
      },
    });
  }

  async setState(serverId: string, state: ServerState, reason: string | null = null): Promise<void> {
    await this.prisma.server.update({
      where: { id: serverId },
      data: {
        state,
        stateReason: reason,
        stateChangedAt: new Date(),
        version: { increment: 1 },
        ...(state === 'ready' ? { readyAt: new Date() } : {}),
        ...(state === 'deleted' ? { deletedAt: new Date() } : {}),
      },
    });
  }
}
