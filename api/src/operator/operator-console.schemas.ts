import { z } from 'zod';
import { expected } from '../http/schemas.js';
import { QUEUE_NAMES } from './job-queues.js';

const when = z.iso.datetime();
const bytes = z.number().int().nonnegative();

const nodeSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  state: z.enum(['active', 'draining', 'removed']),
  servers: z.number().int().describe('Servers placed on the node (not deleted)'),
  committedMemoryMiB: z.number().int().describe("The sum of its servers' plan memory: what their containers may take together"),
  memory: z
    .object({ totalBytes: bytes, availableBytes: bytes })
    .nullable()
    .describe("The host's memory as its worker last reported it; null when no worker reported within the last 15 s"),
  portsFree: z.number().int().describe('Ports of its range that no server holds; each server holds 4'),
  disk: z.object({ totalBytes: bytes, freeBytes: bytes }).nullable().describe('The disk holding its servers (Docker\'s data root); null when not reported'),
  reportedAt: when.nullable(),
});

const incidentSchema = z.object({
  id: z.uuid(),
  status: z.enum(['open', 'needs_attention']).describe('open: Parley is repairing it; needs_attention: repairs gave up until someone acts'),
  kind: z.string().describe('The finding, e.g. container_stopped (worker/src/contracts/health.ts)'),
  server: z.object({ id: z.uuid(), domain: z.string(), accountEmail: z.string() }),
  repairAttempts: z.number().int(),
  lastErrorType: z.string().nullable(),
  lastError: z.string().nullable().describe('The raw error of the last repair, for operators'),
  since: when,
});

const certificateSchema = z.object({
  id: z.uuid(),
  server: z.object({ id: z.uuid(), domain: z.string() }),
  notAfter: when,
  failureCount: z.number().int().describe('Renewal failures in a row'),
  lastErrorType: z.string().nullable(),
});

const backupAgeSchema = z.object({
  server: z.object({ id: z.uuid(), domain: z.string() }),
  lastSucceededAt: when.nullable(),
  lastFailedAt: when.nullable(),
  intervalMinutes: z.number().int().describe("The plan's backup interval"),
  overdue: z.boolean().describe('No backup succeeded within the interval (since the server became ready, when it never had one)'),
});

const queueDepthSchema = z.object({
  name: z.enum(QUEUE_NAMES),
  waiting: z.number().int(),
  active: z.number().int(),
  delayed: z.number().int(),
  failed: z.number().int(),
});

export const overviewSchema = z.object({
  generatedAt: when,
  nodes: z.array(nodeSchema),
  attention: z.array(incidentSchema).describe('Unresolved incidents, those needing attention first, then the oldest'),
  certificates: z.array(certificateSchema).describe('Active certificates, the soonest to expire first (50 at most)'),
  backups: z.array(backupAgeSchema).describe('Servers by the age of their last successful backup, never backed up first (50 at most)'),
  acmeBudget: z.object({
    usedInWindow: z.number().int().describe('New ACME orders in the sliding window'),
    limit: z.number().int().describe('ACME_ORDER_BUDGET: orders allowed per window'),
    perCustomerLimit: z.number().int().describe('ACME_ORDERS_PER_ACCOUNT'),
    windowMs: z.number().int(),
  }),
  queues: z.array(queueDepthSchema),
});

export const failedJobSchema = z.object({
  queue: z.enum(QUEUE_NAMES),
  id: z.string(),
  name: z.string(),
  serverId: z.uuid().nullable().describe("The server in the job's data; null for jobs of no server (scans, sweeps)"),
  serverDomain: z.string().nullable(),
  errorType: z.string().nullable().describe("The failure's stable type, from the server's timeline; null when none was recorded"),
  reason: z.string().describe('The raw error, for operators'),
  attemptsMade: z.number().int(),
  finishedOn: when.nullable(),
});

export const retryParams = z.strictObject({
  queue: z.enum(QUEUE_NAMES, { error: expected(`must be a queue name: ${QUEUE_NAMES.join(' or ')}`) }),
  jobId: z
    .string()
    .min(1, 'must be a job id from GET /api/v1/operator/jobs/failed')
    .max(255, 'must be at most 255 characters')
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters'),
});

export const retryAnswer = z.object({ accepted: z.boolean(), queue: z.enum(QUEUE_NAMES), jobId: z.string() });
