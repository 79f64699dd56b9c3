import { UnrecoverableError } from 'bullmq';
import { causeChain } from '../contracts/error-causes.js';
import { AcmeError, isPermanentAcmeError, isRateLimitedAcmeError } from '../adapters/acme.certificate-authority.js';
import { InvalidUsernameError } from '../contracts/xmpp-names.js';
import { ForeignObjectError, ServerContainerNotFoundError } from '../ports/container-runtime.js';
import { DnsNameTakenError, NoCapacityError, PermanentStepError } from '../provisioning/step-errors.js';
import { AcmeBudgetExhaustedError } from '../provisioning/acme-budget.js';
import { ChallengeDelegationMissingError } from '../provisioning/challenge-delegation.js';
import { XmppServiceNotReadyError } from '../provisioning/xmpp-readiness.js';
import { JobDeadlineError } from './job-deadline.js';
import { BackupRepositoryError } from '../ports/backup-repository.js';
import { DataToolError } from '../exports/data-tool-error.js';
import { Xep0227Error } from '../contracts/xep0227.js';
import type { ErrorType } from '../contracts/error-types.js';

export interface ErrorClass {
  type: ErrorType;
  /** Retrying cannot fix it: the job fails at once instead of retrying for minutes. */
  permanent: boolean;
}

type ErrorConstructor = abstract new (...args: never[]) => Error;

// Checked in order, the specific before the general (an InviteExpiredError is a PermanentStepError).
const KNOWN: readonly (readonly [ErrorConstructor, ErrorClass])[] = [
  // Another container holds the name: waiting will not give it back.
  [ForeignObjectError, { type: 'foreign_object', permanent: true }],
  [InvalidUsernameError, { type: 'invalid_username', permanent: true }],
  // Someone else's records at the name: only a person can decide whose name it is.
  [DnsNameTakenError, { type: 'dns_name_taken', permanent: true }],
  [NoCapacityError, { type: 'no_capacity', permanent: true }],
  // Only the customer can put their CNAME back; the renewal scan checks again at its backoff rate.
  [ChallengeDelegationMissingError, { type: 'acme_challenge_cname_missing', permanent: true }],
  // The job waits for a free slot in the window (worker/src/jobs/retry-delay.ts).
  [AcmeBudgetExhaustedError, { type: 'acme_budget_exhausted', permanent: false }],
  [PermanentStepError, { type: 'permanent', permanent: true }],
  // A file that is not XEP-0227 as Parley takes it: its message says what to fix.
  [Xep0227Error, { type: 'permanent', permanent: true }],
  // BullMQ's own (a malformed payload, an unknown job): its message is not written for customers.
  [UnrecoverableError, { type: 'unknown', permanent: true }],
  [ServerContainerNotFoundError, { type: 'container_not_found', permanent: false }],
  [XmppServiceNotReadyError, { type: 'xmpp_not_ready', permanent: false }],
  [JobDeadlineError, { type: 'deadline_exceeded', permanent: false }],
  // Remote storage down, a lock left by a killed restic: backups wait for it, retrying.
  [BackupRepositoryError, { type: 'backup_repository_unavailable', permanent: false }],
  // Out of memory or time, say: tried again, then visible on the export or the order.
  [DataToolError, { type: 'data_tool_failed', permanent: false }],
  // The CA answered with a problem that is not permanent: serverInternal, badNonce, ...
  [AcmeError, { type: 'acme_unavailable', permanent: false }],
];

/** The one place that decides what a job's failure is and whether a retry can help. */
export function classifyError(error: unknown): ErrorClass {
  if (isPermanentAcmeError(error)) return { type: 'acme_rejected', permanent: true };
  if (isRateLimitedAcmeError(error)) return { type: 'acme_rate_limited', permanent: false };
  for (const current of causeChain(error)) {
    const known = KNOWN.find(([type]) => current instanceof type);
    if (known) return known[1];
  }
  return { type: 'unknown', permanent: false };
}
