import { CUSTOMER_WORDED_ERROR_TYPES, ERROR_TYPES, type ErrorType } from '../../../worker/src/contracts/error-types.js';
import type { Principal } from '../auth/principal.js';

/** Who reads a stored failure: operators get the raw error, customers Parley's words for its type. */
export type Reader = 'operator' | 'customer';

export const readerOf = (principal: Principal): Reader => (principal.role === 'operator' ? 'operator' : 'customer');

/** What happened, in words a customer can act on; the raw error may name internal hosts, URLs or commands. */
const PLAIN: Record<ErrorType, string> = {
  foreign_object: 'Something on the machine that runs your server was in the way, and Parley never removes what it did not create.',
  dns_name_taken: 'The name already has DNS records that Parley did not create.',
  no_capacity: 'Parley has no room for new servers on its machines at the moment.',
  invalid_username: 'The username is not one XMPP accepts.',
  acme_rejected: "The certificate authority refused to issue a certificate for your server's names.",
  acme_rate_limited: 'The certificate authority asked Parley to slow down.',
  acme_unavailable: 'The certificate authority did not answer as expected.',
  acme_budget_exhausted: 'Parley has used its allowance of certificate requests for now and waits for the next free slot.',
  acme_challenge_cname_missing: 'A DNS record on your domain that certificates need is missing.',
  permanent: 'The request could not be carried out.',
  container_not_found: "Your server's container was not found on its machine.",
  xmpp_not_ready: 'Your server did not answer chat connections in time.',
  deadline_exceeded: 'This took longer than it should and was stopped.',
  backup_repository_unavailable: 'The storage that keeps backups could not be reached.',
  data_tool_failed: "Converting your server's users to or from the XEP-0227 format failed.",
  health_incident: 'Parley found your server unwell and is repairing it.',
  unknown: 'Something inside Parley failed.',
};

const KNOWN: ReadonlySet<string> = new Set(ERROR_TYPES);

export interface StoredFailure {
  message: string;
  /** Null on failures stored before types were: read as unknown. */
  errorType: string | null;
}

/**
 * The failure as this reader may see it. Whether Parley tries again is not said here: the
 * timeline's fields (attempt, willRetry) say it, and the dashboard words it from them.
 */
export function failureText(reader: Reader, failure: StoredFailure): string {
  if (reader === 'operator' || (failure.errorType !== null && CUSTOMER_WORDED_ERROR_TYPES.has(failure.errorType))) return failure.message;
  return PLAIN[failure.errorType !== null && KNOWN.has(failure.errorType) ? (failure.errorType as ErrorType) : 'unknown'];
}

/** failureText for a nullable message column (lastError, stateReason) and its type column. */
export function storedFailureText(reader: Reader, message: string | null, errorType: string | null): string | null {
  return message === null ? null : failureText(reader, { message, errorType });
}
