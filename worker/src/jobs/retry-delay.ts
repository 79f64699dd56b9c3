import { acmeRetryAfterMs } from '../adapters/acme.certificate-authority.js';
import { stepBackoffMs } from '../contracts/provisioning-flow.js';
import { AcmeBudgetExhaustedError } from '../provisioning/acme-budget.js';
import { RENEWAL_BACKOFF, renewalRetryDelayMs } from '../provisioning/renewal-backoff.js';

const MAX_CAUSE_DEPTH = 8;

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
  for (let current = error, depth = 0; current instanceof Error && depth < MAX_CAUSE_DEPTH; current = current.cause, depth += 1) {
    if (current instanceof AcmeBudgetExhaustedError) return Math.max(0, current.retryAt.getTime() - Date.now());
  }
  return acmeRetryAfterMs(error);
}
