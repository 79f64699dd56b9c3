import type { PrismaClient } from '../../../prisma/client.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { CertificateAuthority } from '../ports/certificate-authority.js';
import type { ContainerRuntime } from '../ports/container-runtime.js';
import type { DnsProvider } from '../ports/dns-provider.js';
import type { XmppProbe } from '../ports/xmpp-probe.js';
import type { DnsLedger } from './dns-ledger.js';

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
  /** This worker's node: the reconciler watches its servers and removes only its orphans. */
  nodeName: string;
  healthCheckTimeoutMs: number;
  healthCheckConcurrency: number;
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
  /** The name of another job running for the server right now, if any. */
  busyWith(serverId: string): Promise<string | null>;
}

/** Everything a provisioning step may touch; each side effect sits behind a port. */
export interface StepDeps {
  prisma: PrismaClient;
  secrets: SecretBox;
  dns: DnsProvider;
  ledger: DnsLedger;
  ca: CertificateAuthority;
  containers: ContainerRuntime;
  probe: XmppProbe;
  jobs: JobQueue;
  settings: ProvisioningSettings;
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
