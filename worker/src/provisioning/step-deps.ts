import type { NodeDrainJob, ServerBackupJob, ServerMoveJob } from '../contracts/provisioning.js';
import type { NodeFirewalls } from '../nodes/node-firewalls.js';
import type { BackupRepository } from '../ports/backup-repository.js';
import type { PrismaClient } from '../../../prisma/client.js';
import type { SecretSealer } from '../crypto/secret-sealer.js';
import type { CertificateAuthority } from '../ports/certificate-authority.js';
import type { ContainerRuntime } from '../ports/container-runtime.js';
import type { DnsProvider } from '../ports/dns-provider.js';
import type { DnsResolver } from '../ports/dns-resolver.js';
import type { XmppProbe } from '../ports/xmpp-probe.js';
import type { TurnSecretStore } from '../ports/turn-secrets.js';
import type { DnsLedger } from './dns-ledger.js';
import type { OrderYieldLimits } from '../housekeeping/order-yield.js';
import type { KeyedLock } from '../adapters/keyed-lock.js';
import type { AcmeOrderLimits } from '../contracts/acme-order-limits.js';
import type { InviteJob, InviteJobName, UserJob, UserJobName } from '../contracts/xmpp-user-jobs.js';

export interface ProvisioningSettings {
  platformZone: string;
  /** ADDRESS:PORT of a server authoritative for the zone, asked directly before ACME validates. */
  dnsResolver: string;
  acmeContactEmail: string;
  prosodyImage: string;
  /** Roots the CA issues under when they are not in the system store (Pebble); undefined = system. */
  trustedRoots: () => Promise<string[] | undefined>;
  dnsPropagationTimeoutMs: number;
  serviceStartTimeoutMs: number;
  /** How old an unqueued order or deletion must be before the reconciler queues it. */
  reconcileGraceMs: number;
  /** How long an order or deletion may sit unfinished with no job waiting or running before it is re-queued. */
  stuckAfterMs: number;
  /** This worker's node: the reconciler watches its servers and removes only its orphans. */
  nodeName: string;
  /** swarm: the runtime reaches every node, so the reconciler watches every node's servers. */
  containerRuntime: 'docker' | 'swarm';
  /** The Docker network every server's container joins (see ServerContainerSpec.network). */
  tenantNetwork: string;
  /** Name servers containers resolve through; empty: the host's (see ServerContainerSpec.dns). */
  containerDns: string[];
  healthCheckTimeoutMs: number;
  healthCheckConcurrency: number;
  /** New ACME orders allowed per sliding window, for the platform and for each customer. */
  acmeOrderLimits: AcmeOrderLimits;
  /** How long a node may be down before its servers are restored elsewhere; 0: only by an operator. */
  nodeLossRestoreAfterMs: number;
  /** How long a deleted server's final backup is kept; 0: no final backup is taken. */
  deletionGraceMs: number;
  /** Whether a server's compliance checks are queued as soon as it is ready. */
  complianceAfterReady: boolean;
  /** How long usage samples and message counts are kept. */
  usageRetentionDays: number;
  /** How long the account census steps aside for orders in flight. */
  censusYield: OrderYieldLimits;
  /** How long after it was queued a compliance run may still step aside for orders in flight. */
  complianceYieldMaxMs: number;
}

/** What steps may ask of the job queue. */
export interface JobQueue {
  /** The provisioning step currently running for the server, if any. */
  activeStep(serverId: string): Promise<string | null>;
  /** Queues the renewal of one certificate; queueing it again while it is pending adds nothing. */
  enqueueRenewal(serverId: string, certificateId: string): Promise<void>;
  /** Adds a server's provisioning flow or its removal; both are no-ops when already queued. */
  enqueueProvisioning(serverId: string): Promise<void>;
  enqueueDeprovisioning(serverId: string): Promise<void>;
  /** Queues a health check (and repair) of each server, in one call; one already waiting is kept. */
  enqueueHealthChecks(serverIds: string[]): Promise<void>;
  /** Queues one check of the server for later (when a repair's backoff ends). */
  enqueueHealthCheckAt(serverId: string, at: Date): Promise<void>;
  /** The name of a job running for the server right now other than `exceptJobId` (the caller), if any. */
  busyWith(serverId: string, exceptJobId?: string): Promise<string | null>;
  /** Whether the server's order (its steps) or its deletion has a job waiting or running, only finished ones, or none. */
  serverJobs(serverId: string, kind: 'provisioning' | 'deprovisioning'): Promise<QueuedWork>;
  /** Queues an order's whole flow again (every step is idempotent) after removing its finished step jobs. */
  restartProvisioning(serverId: string): Promise<void>;
  /** Queues a user or invite request whose job never reached the queue; one already there is kept. */
  enqueueUserJob(name: UserJobName, job: UserJob): Promise<void>;
  enqueueInviteJob(name: InviteJobName, job: InviteJob): Promise<void>;
  /** Queues a backup row's job; one already queued or finished under its id is kept. */
  enqueueBackup(job: ServerBackupJob): Promise<void>;
  /** Queues the server's XEP-0479 compliance checks; one already waiting is kept, one running gets another after it. */
  enqueueComplianceCheck(serverId: string): Promise<void>;
  /** The compliance runs under way right now, with when each was queued. */
  complianceRunsUnderWay(): Promise<QueuedRun[]>;
  /** Queues a round of a node's drain; the same round queued again adds nothing. */
  enqueueNodeDrain(job: NodeDrainJob): Promise<void>;
  /** Queues a server's move; the same request queued again adds nothing. */
  enqueueMove(job: ServerMoveJob): Promise<void>;
}

export type QueuedWork = 'none' | 'pending' | 'finished';

export interface QueuedRun {
  jobId: string;
  serverId: string;
  /** Epoch ms. */
  queuedAt: number;
}

/** Everything a provisioning step may touch; each side effect sits behind a port. */
export interface StepDeps {
  prisma: PrismaClient;
  secrets: SecretSealer;
  dns: DnsProvider;
  /** Reads names Parley does not control, such as a customer's `_acme-challenge` CNAMEs. */
  resolver: DnsResolver;
  ledger: DnsLedger;
  ca: CertificateAuthority;
  containers: ContainerRuntime;
  /** A Swarm's nodes' tenant firewalls, kept by the reconciler (absent on one engine). */
  nodeFirewalls?: NodeFirewalls;
  /** Where servers' data is backed up (restic). */
  backups: BackupRepository;
  /** One container-changing operation per server at a time, across workers (a repair, an action). */
  serverLock: KeyedLock;
  probe: XmppProbe;
  jobs: JobQueue;
  settings: ProvisioningSettings;
  /** Audio and video calls through the node's coturn; absent when the node offers none. */
  calls?: CallsDeps;
}

export interface CallsDeps {
  /** Where coturn reads the servers' TURN secrets. */
  turnSecrets: TurnSecretStore;
  /** coturn's port on the node's public address, and how long handed-out credentials stay valid. */
  turnPort: number;
  credentialTtlSeconds: number;
}

/** The server row with what every step needs, or a clear error when the order is incomplete. */
export async function loadServer(prisma: PrismaClient, serverId: string) {
  const server = await prisma.server.findUniqueOrThrow({ where: { id: serverId }, include: { node: true, plan: true, customDomain: true } });
  return server;
}

export async function requireNode(prisma: PrismaClient, serverId: string) {
  const server = await loadServer(prisma, serverId);
  if (!server.node) throw new Error(`server ${serverId} has no node yet: the allocate step has not run`);
  return { ...server, node: server.node };
}
