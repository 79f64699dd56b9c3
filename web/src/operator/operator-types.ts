// The shapes of the operator console's answers (GET /api/v1/operator/overview, /operator/jobs/failed).

export type QueueName = 'provisioning' | 'xmpp-users';

export interface NodeCapacity {
  id: string;
  name: string;
  state: 'active' | 'draining' | 'removed';
  servers: number;
  /** The sum of its servers' plan memory. */
  committedMemoryMiB: number;
  /** As the node's worker last reported; null when it has not within the last 15 s. */
  memory: { totalBytes: number; availableBytes: number } | null;
  portsFree: number;
  disk: { totalBytes: number; freeBytes: number } | null;
  reportedAt: string | null;
}

export interface AttentionItem {
  id: string;
  status: 'open' | 'needs_attention';
  kind: string;
  server: { id: string; domain: string; accountEmail: string };
  repairAttempts: number;
  lastErrorType: string | null;
  lastError: string | null;
  since: string;
}

export interface CertificateExpiry {
  id: string;
  server: { id: string; domain: string };
  notAfter: string;
  failureCount: number;
  lastErrorType: string | null;
}

export interface BackupAge {
  server: { id: string; domain: string };
  lastSucceededAt: string | null;
  lastFailedAt: string | null;
  intervalMinutes: number;
  overdue: boolean;
}

export interface AcmeBudget {
  usedInWindow: number;
  limit: number;
  perCustomerLimit: number;
  windowMs: number;
}

export interface QueueDepth {
  name: QueueName;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface OperatorOverview {
  generatedAt: string;
  nodes: NodeCapacity[];
  attention: AttentionItem[];
  certificates: CertificateExpiry[];
  backups: BackupAge[];
  acmeBudget: AcmeBudget;
  queues: QueueDepth[];
}

export interface FailedJob {
  queue: QueueName;
  id: string;
  name: string;
  serverId: string | null;
  serverDomain: string | null;
  /** The failure's stable type, when the server's timeline recorded one. */
  errorType: string | null;
  reason: string;
  attemptsMade: number;
  finishedOn: string | null;
}
