import type { PrismaClient } from '../../../prisma/client.js';
import type { ServerState } from '../../../prisma/generated/client/enums.js';

export type EventStatus = 'started' | 'succeeded' | 'failed' | 'info';

/** The job an event belongs to: which attempt of how many. */
export interface EventContext {
  attempt?: number;
  /** How many attempts the job has in all. */
  maxAttempts?: number;
  jobId?: string;
  detail?: Record<string, string | number | boolean | null>;
}

/** What a failed event says besides its reason; the dashboard reads these, never the message. */
export interface FailureFields {
  willRetry: boolean;
  /** A stable type (worker/src/jobs/error-type.ts). */
  errorType: string;
}

/** The server's timeline the customer watches, and its state; one row per step outcome. */
/** Told how long each tracked step took and how it ended (the worker's step histogram). */
export type StepObserver = (step: string, outcome: 'succeeded' | 'failed', seconds: number) => void;

export class Timeline {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly observer?: StepObserver,
  ) {}

  stepEnded(step: string, outcome: 'succeeded' | 'failed', seconds: number): void {
    this.observer?.(step, outcome, seconds);
  }

  async record(serverId: string, step: string, status: EventStatus, message: string, context: EventContext = {}, failure?: FailureFields): Promise<void> {
    await this.prisma.provisioningEvent.create({
      data: {
        serverId,
        step,
        status,
        message,
        attempt: context.attempt ?? 1,
        maxAttempts: context.maxAttempts ?? null,
        willRetry: failure?.willRetry ?? null,
        errorType: failure?.errorType ?? null,
        jobId: context.jobId ?? null,
        ...(context.detail ? { detail: context.detail } : {}),
      },
    });
  }

  /** `reason` with its stable type when the state is a failure, so readers need not parse it. */
  async setState(serverId: string, state: ServerState, reason: { text: string; errorType: string } | null = null): Promise<void> {
    await this.prisma.server.update({
      where: { id: serverId },
      data: {
        state,
        stateReason: reason?.text ?? null,
        stateReasonType: reason?.errorType ?? null,
        stateChangedAt: new Date(),
        version: { increment: 1 },
        ...(state === 'ready' ? { readyAt: new Date() } : {}),
        ...(state === 'deleted' ? { deletedAt: new Date() } : {}),
      },
    });
  }
}
