import { UnrecoverableError, type Job } from 'bullmq';
import { describeError } from '../contracts/dependency-check.js';
import type { EventContext, Timeline } from '../provisioning/timeline.js';
import type { ErrorType } from '../contracts/error-types.js';
import { classifyError } from './error-type.js';

/** Which attempt of how many a job is on, as its timeline events record it. */
export function jobContext(job: Job, detail?: EventContext['detail']): EventContext {
  return {
    attempt: job.attemptsMade + 1,
    maxAttempts: job.opts.attempts ?? 1,
    ...(job.id ? { jobId: job.id } : {}),
    ...(detail ? { detail } : {}),
  };
}

export interface StepFailure {
  reason: string;
  errorType: ErrorType;
  permanent: boolean;
  /** BullMQ runs the job again: the failure is neither permanent nor on the last attempt. */
  willRetry: boolean;
}

/**
 * What a row of queued work (a backup, an export) records of a failed attempt: back to queued
 * while BullMQ retries, failed and finished once it does not; the reason in the row's words.
 */
export function rowAfterFailure(failure: StepFailure) {
  return {
    status: failure.willRetry ? ('queued' as const) : ('failed' as const),
    lastError: failure.reason,
    lastErrorType: failure.errorType,
    ...(failure.willRetry ? {} : { finishedAt: new Date() }),
  };
}

export function failureOutcome(error: unknown, context: EventContext): StepFailure {
  const { type, permanent } = classifyError(error);
  const willRetry = !permanent && (context.attempt ?? 1) < (context.maxAttempts ?? 1);
  return { reason: describeError(error), errorType: type, permanent, willRetry };
}

export interface TrackedStep {
  timeline: Timeline;
  serverId: string;
  /** The events' step name: a provisioning step, an action, a job name. */
  step: string;
  /** The `started` event's message; without one only the outcome is recorded. */
  title?: string;
  context: EventContext;
  /** The failure as the timeline says it, when the bare reason needs a preface. */
  failureText?: (reason: string) => string;
  /** After the success is recorded: what follows it (the server becomes ready, or deleted). */
  onSuccess?: () => Promise<void>;
  /**
   * What else this job's failure changes (a row's lastError, the server's state once no retry is
   * left). It runs before the failure is recorded, so whoever watches the timeline finds it done.
   */
  onFailure?: (failure: StepFailure) => Promise<void>;
}

/** A step's success with figures of its own for the `succeeded` event (a move's downtime). */
export interface StepOutcome {
  message: string;
  detail: NonNullable<EventContext['detail']>;
}

/**
 * Records `started`, runs the step, records `succeeded` with its message or `failed` with the
 * reason, whether BullMQ will retry and the error's type; a failure that retrying cannot fix is
 * rethrown as UnrecoverableError so BullMQ stops at once.
 */
export async function trackedStep(step: TrackedStep, run: () => Promise<string | StepOutcome>): Promise<string> {
  const { timeline, serverId, context } = step;
  if (step.title !== undefined) await timeline.record(serverId, step.step, 'started', step.title, context);
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  try {
    const outcome = await run();
    timeline.stepEnded(step.step, 'succeeded', seconds());
    const message = typeof outcome === 'string' ? outcome : outcome.message;
    const detail = typeof outcome === 'string' ? context.detail : { ...context.detail, ...outcome.detail };
    await timeline.record(serverId, step.step, 'succeeded', message, { ...context, ...(detail ? { detail } : {}) });
    await step.onSuccess?.();
    return message;
  } catch (error) {
    timeline.stepEnded(step.step, 'failed', seconds());
    const failure = failureOutcome(error, context);
    await step.onFailure?.(failure);
    const message = step.failureText ? step.failureText(failure.reason) : failure.reason;
    await timeline.record(serverId, step.step, 'failed', message, context, { willRetry: failure.willRetry, errorType: failure.errorType });
    if (failure.permanent && !(error instanceof UnrecoverableError)) throw new UnrecoverableError(failure.reason);
    throw error;
  }
}
