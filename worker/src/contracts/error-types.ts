/**
 * The stable names for what went wrong, stored beside every failure (timeline events, the server's
 * state reason, incidents, certificates, users, invites): readers match on these, never on text.
 */
export const ERROR_TYPES = [
  'foreign_object',
  'dns_name_taken',
  'no_capacity',
  'invalid_username',
  'acme_rejected',
  'acme_rate_limited',
  'acme_unavailable',
  'acme_budget_exhausted',
  'acme_challenge_cname_missing',
  'permanent',
  'container_not_found',
  'xmpp_not_ready',
  'deadline_exceeded',
  'backup_repository_unavailable',
  // Prosody's migrator (an export or an import of XEP-0227 data) failed or did not finish.
  'data_tool_failed',
  // An incident the reconciler detected: its event says which, in Parley's words.
  'health_incident',
  'unknown',
] as const;

export type ErrorType = (typeof ERROR_TYPES)[number];

/**
 * Failures whose message Parley writes for the customer (what is wrong with their input or their
 * DNS, and what to do); every other failure's message is the raw error, for operators only.
 */
export const CUSTOMER_WORDED_ERROR_TYPES: ReadonlySet<string> = new Set<ErrorType>(['dns_name_taken', 'invalid_username', 'acme_challenge_cname_missing', 'permanent', 'health_incident']);
