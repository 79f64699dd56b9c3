import { findCause } from '../contracts/error-causes.js';
import { acmeRetryAfterMs } from '../adapters/acme.certificate-authority.js';
import { stepBackoffMs } from '../contracts/provisioning-flow.js';
import { AcmeBudgetExhaustedError } from '../provisioning/acme-budget.js';
import { RENEWAL_BACKOFF, renewalRetryDelayMs } from '../provisioning/renewal-backoff.js';

/**
 * BullMQ's backoff for the provisioning queue's custom types. A failure that knows when a retry
 * can succeed waits until then (the ACME budget frees a slot, the CA's Retry-After); otherwise
 * renewals wait minutes and everything else follows the steps' capped exponential backoff.
 */
export function retryDelayMs(attemptsMade: number, type?: string, error?: Error): number {
  const waitMs = knownWaitMs(error);
  if (waitMs !== undefined) return waitMs;
  return type === RENEWAL_BACKOFF ? renewalRetryDelayMs(attemptsMade) : stepBackoffMs(attemptsMade);
}

function knownWaitMs(error: unknown): number | undefined {
  const budget = findCause(error, AcmeBudgetExhaustedError);
  return budget ? Math.max(0, budget.retryAt.getTime() - Date.now()) : acmeRetryAfterMs(error);
}
