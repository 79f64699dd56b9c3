// The shapes of the API's answers the dashboard reads (see /api/docs/json for the full contract).

export interface Plan {
  code: string;
  name: string;
  maxServers: number;
  maxUsersPerServer: number;
  /** Upload storage per server. */
  storageMiB: number;
}

export interface Account {
  id: string;
  email: string;
  role: 'customer' | 'operator';
  plan: Plan;
  /** The owner followed a link mailed to this email. */
  emailVerified: boolean;
  twoFactorEnabled: boolean;
  createdAt: string;
}

/** Log-in with two-factor on: the password was right, a code finishes it. */
export interface TwoFactorChallenge {
  twoFactorRequired: true;
  challenge: string;
  expiresAt: string;
}

export interface Authenticated {
  account: Account;
  csrfToken: string | null;
  sessionExpiresAt: string | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Ports {
  starttls: number;
  directTls: number | null;
  federation: number | null;
  upload: number | null;
}

export type ServerState =
  | 'ordered'
  | 'allocating'
  | 'dns'
  | 'certificate'
  | 'configuring'
  | 'starting'
  | 'bootstrapping'
  | 'probing'
  | 'ready'
  | 'restoring'
  | 'moving'
  | 'stopped'
  | 'failed'
  | 'deprovisioning'
  | 'deleted';

export type HealthStatus = 'unknown' | 'ok' | 'degraded' | 'down' | 'needs_attention';

/** What Parley last observed of a server, apart from its lifecycle state. */
export interface ServerHealth {
  status: HealthStatus;
  /** The kind of the worst open incident, e.g. container_stopped. */
  issue: string | null;
  /** What is wrong and what Parley is doing, in plain words; null when all is well. */
  message: string | null;
  since: string | null;
  checkedAt: string | null;
}

export interface Incident {
  id: string;
  /** What was found: container_missing, container_stopped, xmpp_unresponsive, dns_record_missing, ... */
  kind: string;
  status: 'open' | 'needs_attention' | 'resolved';
  openedAt: string;
  resolvedAt: string | null;
  repairAttempts: number;
  lastError: string | null;
}

export interface Server {
  id: string;
  name: string;
  domain: string;
  federation: boolean;
  plan: string;
  state: ServerState;
  stateReason: string | null;
  desiredState: string;
  createdAt: string;
  readyAt: string | null;
  health: ServerHealth;
  connection: { jidDomain: string; host: string; ports: Ports } | null;
}

export interface ServerDetail extends Server {
  /** The most recent incidents, newest first. */
  incidents: Incident[];
  srvRecords: { name: string; value: string; ttl: number }[];
  certificate: { names: string[]; notAfter: string | null; renewAfter: string | null; lastError: string | null } | null;
  /** XEP-0157 addresses the server publishes: admin is its admin account, abuse falls back to it. */
  contacts: ServerContacts;
  /** Calls through the platform's relay; null when not offered. */
  calls: { turnPort: number; relayPorts: string; tls: { host: string; port: number } | null } | null;
  /** When Parley last saw a connection with another server up (checked every few minutes). */
  federationSeen: { outgoingAt: string | null; incomingAt: string | null };
  /** XEP-0479 checks run with a real client; null before the first run. */
  compliance: Compliance | null;
}

export interface ComplianceCheck {
  id: string;
  title: string;
  /** The XEP (or RFC) checked, e.g. XEP-0280. */
  spec: string;
  category: 'core' | 'im' | 'mobile' | 'av';
  passed: boolean;
  /** A stable code: ok, no_external_services, connection_failed, … */
  reason: string;
  detail: string;
  checkedAt: string;
}

export interface Compliance {
  passed: number;
  total: number;
  checkedAt: string;
  checks: ComplianceCheck[];
}

export interface ServerContacts {
  admin: string[];
  abuse: string[];
  support: string[];
  security: string[];
}

export interface ServerEvent {
  id: string;
  step: string;
  status: 'started' | 'succeeded' | 'failed' | 'info';
  message: string;
  attempt: number;
  /** How many attempts the job has in all; null on events not run by a job. */
  maxAttempts: number | null;
  /** On a failure: whether the worker tries again by itself; null otherwise. */
  willRetry: boolean | null;
  /** On a failure: a stable type such as permanent or container_not_found; null otherwise. */
  errorType: string | null;
  /** On a finished move to another machine: how long XMPP did not answer, in ms. */
  downtimeMs: number | null;
  at: string;
}

export type BackupKind = 'scheduled' | 'on_demand' | 'safety' | 'final' | 'move';
/** queued also while a failed attempt waits for its retry (then error says why it failed). */
export type BackupStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'forgotten';

export interface Backup {
  id: string;
  /**
   * safety: taken by a restore just before it replaced the data, so the restore can be undone;
   * final: taken by a deletion, so the deletion can be undone.
   */
  kind: BackupKind;
  status: BackupStatus;
  requestedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Bytes of the server's data the backup read. */
  sizeBytes: number | null;
  /** Bytes the backup added to the repository after deduplication. */
  addedBytes: number | null;
  pausedMs: number | null;
  attempts: number;
  /** Why the last attempt failed, in words for the customer; null when it did not. */
  error: string | null;
  errorType: string | null;
}

export interface BackupSchedule {
  intervalMinutes: number;
  /** Retention: the last N, one per day for N days, one per week for N weeks. */
  keep: { last: number; daily: number; weekly: number };
  /** When the next scheduled backup is due; null while one is under way. */
  nextAt: string | null;
}

export interface BackupList {
  schedule: BackupSchedule;
  /** Newest first; forgotten ones are not listed. */
  items: Backup[];
}

/** queued also while a failed attempt waits for its retry (then error says why it failed). */
export type ExportStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** A XEP-0227 export of a server's users, downloadable once it succeeded and until it expires. */
export interface ServerExport {
  id: string;
  status: ExportStatus;
  requestedAt: string;
  finishedAt: string | null;
  /** After this the export is deleted; a new one can be asked for. */
  expiresAt: string;
  /** Bytes of the XML document. */
  sizeBytes: number | null;
  /** Users in the document; Parley's admin account is left out. */
  userCount: number | null;
  attempts: number;
  /** Why the last attempt failed, in words for the customer; null when it did not. */
  error: string | null;
  errorType: string | null;
}

/** An uploaded XEP-0227 file, checked, waiting for the order that names it (kept 24 hours). */
export interface ServerImport {
  id: string;
  /** The domain the file's users came from. */
  host: string;
  userCount: number;
  expiresAt: string;
}

/** A deleted server still in its grace period, during which the deletion can be undone. */
export interface DeletedServer {
  id: string;
  name: string;
  domain: string;
  deletedAt: string;
  /** After this, its backups are forgotten for good. */
  restorableUntil: string;
  /** Whether the deletion kept a backup to bring it back from (not when it had no data yet). */
  restorable: boolean;
}

export interface DomainRecord {
  name: string;
  type: string;
  value: string | null;
  purpose: string;
  required: boolean;
  description: string;
  check: { expected: string; found: string[]; ok: boolean; message: string } | null;
}

export interface Domain {
  id: string;
  name: string;
  /** expired: not verified in time; it reserves nothing and is added again to start over. */
  status: 'pending' | 'verified' | 'failed' | 'expired';
  statusDetail: string;
  /** When an unverified claim expires; null once verified. */
  expiresAt: string | null;
  verifiedAt: string | null;
  lastCheckedAt: string | null;
  createdAt: string;
  records: DomainRecord[];
}

export interface XmppUser {
  id: string;
  localpart: string;
  jid: string;
  state: string;
  lastError: string | null;
  passwordRevealedAt: string | null;
  createdAt: string;
}

export interface Invite {
  id: string;
  state: string;
  expiresAt: string;
  revokedAt: string | null;
  lastError: string | null;
  createdAt: string;
}

export interface AuditEntry {
  id: string;
  action: string;
  actorKind: string;
  targetType: string;
  targetId: string | null;
  ip: string | null;
  detail: unknown;
  createdAt: string;
}

/** A personal API token as listed; the secret itself is only in the answer that created it. */
export interface ApiToken {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}
