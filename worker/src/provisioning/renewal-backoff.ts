import type { JobsOptions } from 'bullmq';

const HOUR_MS = 3_600_000;
const MAX_BACKOFF_MS = 24 * HOUR_MS;

/** How long a certificate waits after its nth failed renewal in a row: 1 h, doubling, capped at a day. */
export function renewalBackoffMs(failureCount: number): number {
  return Math.min(MAX_BACKOFF_MS, HOUR_MS * 2 ** Math.max(0, failureCount - 1));
}

/** When the renewal scan may queue the certificate again. */
export function nextRenewalAttempt(lastAttemptAt: Date, failureCount: number): Date {
  return new Date(lastAttemptAt.getTime() + renewalBackoffMs(failureCount));
}

/** The BullMQ backoff type of renewal jobs (worker/src/jobs/retry-delay.ts). */
export const RENEWAL_BACKOFF = 'renewal';

/**
 * A renewal job retries a few times, minutes apart, for a CA or DNS that hiccuped: each attempt
 * may create an ACME order, so the per-certificate backoff (hours) does the rest. It is removed
 * when it finally fails, so the scan can queue the same certificate again.
 */
export const RENEW_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: RENEWAL_BACKOFF },
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: true,
};

/** Delay before a renewal job's retry N: 1 minute, then 2. */
export function renewalRetryDelayMs(attemptsMade: number): number {
  return 60_000 * 2 ** Math.max(0, attemptsMade - 1);
}

/** The failure of a renewal attempt as the renewal records it. */
export interface RenewalFailure {
  reason: string;
  errorType: string;
  willRetry: boolean;
  /** What the customer must fix before a renewal can start; null when nothing. */
  blockedReason: string | null;
}

/**
 * What a failed attempt writes on its certificate. The job's last attempt counts one failure in a
 * row and sets when the scan may try again; earlier attempts only record what happened.
 */
export function failedRenewal(failure: RenewalFailure, failureCount: number, now: Date) {
  const attempt = { lastError: failure.reason, lastErrorType: failure.errorType, lastAttemptAt: now };
  if (failure.willRetry) return attempt;
  const failures = failureCount + 1;
  return { ...attempt, failureCount: failures, nextAttemptAt: nextRenewalAttempt(now, failures), blockedReason: failure.blockedReason };
}
