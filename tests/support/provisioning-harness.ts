import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import type { PrismaClient } from '../../prisma/client.js';
import { seedPlans } from '../../prisma/seed.js';
import { loadWorkerConfig, type WorkerConfig } from '../../worker/src/config.js';
import { SecretSealer } from '../../worker/src/crypto/secret-sealer.js';
import { adminSecretContext } from '../../worker/src/contracts/secret-contexts.js';
import { enqueueDeprovisioning, enqueueProvisioning } from '../../worker/src/contracts/provisioning-flow.js';
import { startWorkerRuntime, type WorkerRuntime } from '../../worker/src/worker-runtime.js';
import type { ServerState } from '../../prisma/generated/client/enums.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';
import { createDnsProvider } from '../../worker/src/adapters.js';
import type { DnsProvider } from '../../worker/src/ports/dns-provider.js';
import { DnsLedger } from '../../worker/src/provisioning/dns-ledger.js';
import { turnHostname } from '../../worker/src/contracts/node-names.js';
import { RedisServer } from './redis-server.js';

/**
 * One isolated platform per test file: its own database and Redis (so a running `./parley up`
 * never picks up test jobs), its own port range on the node, the real Docker, PowerDNS and Pebble.
 */
/** The host ports setup.sh reserves for the sandbox node, the tests and the benchmarks. */
const TEST_PORTS = { first: 20_000, last: 47_999 };

export class ProvisioningHarness {
  private constructor(
    readonly db: TestDatabase,
    readonly redis: RedisServer,
    readonly config: WorkerConfig,
    readonly secrets: SecretSealer,
  ) {}

  runtime: WorkerRuntime | undefined;
  private starting: Promise<WorkerRuntime> | undefined;

  /** `configure` adjusts the worker's configuration (outside services behind a test's proxy, say). */
  static async create(
    portRangeStart: number,
    options: { persistentRedis?: boolean; turnTls?: boolean; metrics?: boolean; configure?: (config: WorkerConfig) => WorkerConfig } = {},
  ): Promise<ProvisioningHarness> {
    const db = await createTestDatabase();
    const redis = await RedisServer.start({ persistent: options.persistentRedis ?? false });
    await seedPlans(db.prisma);
    const base = loadWorkerConfig();
    const defaults: WorkerConfig = {
      ...base,
      databaseUrl: db.url,
      redisUrl: redis.url,
      logLevel: 'warn',
      healthReportIntervalMs: 60_000,
      // Every test file's worker rewrites the one tenant firewall: each lets containers reach the
      // ports of all of them (the range setup.sh reserves), so none shuts another's servers out.
      node: { ...base.node, name: `test-${portRangeStart}`, hostname: `test-${portRangeStart}.${base.platformZone}`, portRangeStart, portRangeEnd: portRangeStart + 399, reachablePorts: TEST_PORTS },
      // Backups have their own tests (which turn these on): a worker per test file need not dump
      // the database, look for due backups or keep a final backup of every server it deletes.
      backups: { ...base.backups, databaseIntervalMs: 0, scheduleIntervalMs: 0, deletionGraceMs: 0 },
      // Only a harness asked to keeps coturn's certificate: one worker at a time may own its files.
      calls: base.calls && { ...base.calls, tls: options.turnTls ? base.calls.tls : null },
      // The operators' listener on a port of the kernel's choosing, only where a test reads it.
      metrics: options.metrics ? { host: '127.0.0.1', port: 0 } : null,
      jobs: { concurrency: 8, lockMs: 3_000, stalledCheckMs: 1_000, renewalScanIntervalMs: 3_600_000, reconcileIntervalMs: 3_600_000, resealIntervalMs: 3_600_000, accountCensusIntervalMs: 3_600_000, usageRetentionDays: 90, censusYield: base.jobs.censusYield, complianceYieldMaxMs: base.jobs.complianceYieldMaxMs, reconcileGraceMs: 0, nodeLossRestoreAfterMs: 0, healthCheckTimeoutMs: 3_000, healthCheckConcurrency: 16, complianceAfterReady: false },
    };
    const config = options.configure ? options.configure(defaults) : defaults;
    const harness = new ProvisioningHarness(db, redis, config, SecretSealer.fromKeyrings(config.keyrings));
    // A run that was killed left its node's TURN record behind, in a zone no database owns now.
    if (config.calls?.tls) await harness.dns.removeRecords(config.platformZone, await harness.dns.listRecords(config.platformZone, turnHostname(config.node.hostname)));
    return harness;
  }

  get prisma(): PrismaClient {
    return this.db.prisma;
  }

  /** The environment for a worker started as its own process against this harness. */
  workerEnv(): Record<string, string> {
    const { portRangeStart, portRangeEnd, name } = this.config.node;
    return {
      DATABASE_URL: this.db.url,
      REDIS_URL: this.redis.url,
      NODE_NAME: name,
      NODE_PORT_RANGE: `${portRangeStart}-${portRangeEnd}`,
      TENANT_REACHABLE_PORTS: `${TEST_PORTS.first}-${TEST_PORTS.last}`,
      JOB_LOCK_MS: String(this.config.jobs.lockMs),
      STALLED_CHECK_MS: String(this.config.jobs.stalledCheckMs),
      DATABASE_BACKUP_INTERVAL_MS: '0',
      BACKUP_SCHEDULE_INTERVAL_MS: '0',
      DELETED_SERVER_GRACE_DAYS: '0',
      COMPLIANCE_AFTER_READY: String(this.config.jobs.complianceAfterReady),
      COMPLIANCE_YIELD_MAX_MS: String(this.config.jobs.complianceYieldMaxMs),
      TURN_TLS_DIR: this.config.calls?.tls?.dir ?? '',
      WORKER_METRICS_ADDRESS: '',
      LOG_LEVEL: 'warn',
    };
  }

  /** The one worker of the harness: calls made while it starts (orders provisioned at once) share it. */
  startWorker(): Promise<WorkerRuntime> {
    this.starting ??= startWorkerRuntime(this.config, pino({ level: this.config.logLevel })).then(
      (runtime) => (this.runtime = runtime),
      (error: unknown) => {
        this.starting = undefined;
        throw error;
      },
    );
    return this.starting;
  }

  /** Writes an order the way the API will: an account, a server row on a platform subdomain. */
  async placeOrder(options: { label?: string; federation?: boolean; plan?: string } = {}): Promise<{ serverId: string; domain: string }> {
    const label = options.label ?? `t${randomBytes(5).toString('hex')}`;
    const plan = await this.prisma.plan.findUniqueOrThrow({ where: { code: options.plan ?? 'personal' } });
    const account = await this.prisma.account.create({
      data: { email: `${label}@example.test`, passwordHash: 'not-used-by-these-tests', planId: plan.id },
    });
    const domain = `${label}.${this.config.platformZone}`;
    const server = await this.prisma.server.create({
      data: { accountId: account.id, name: label, domain, domainKind: 'platform', federation: options.federation ?? true, planId: plan.id },
    });
    return { serverId: server.id, domain };
  }

  /** An order on a customer's own domain, already verified (the API's part, tested there). */
  async placeCustomDomainOrder(domainName: string): Promise<{ serverId: string; domainId: string }> {
    const plan = await this.prisma.plan.findUniqueOrThrow({ where: { code: 'personal' } });
    const label = `c${randomBytes(5).toString('hex')}`;
    const account = await this.prisma.account.create({ data: { email: `${label}@example.test`, passwordHash: 'not-used-by-these-tests', planId: plan.id } });
    const domain = await this.prisma.domain.create({
      data: { accountId: account.id, name: domainName, verificationToken: randomBytes(16).toString('hex'), status: 'verified', verifiedAt: new Date() },
    });
    const server = await this.prisma.server.create({
      data: { accountId: account.id, name: label, domain: domainName, domainKind: 'custom', customDomainId: domain.id, federation: true, planId: plan.id },
    });
    return { serverId: server.id, domainId: domain.id };
  }

  async provision(serverId: string): Promise<void> {
    const runtime = await this.startWorker();
    await enqueueProvisioning(runtime.flows, serverId);
  }

  async deprovision(serverId: string): Promise<void> {
    const runtime = await this.startWorker();
    await this.prisma.server.update({ where: { id: serverId }, data: { desiredState: 'deleted' } });
    await enqueueDeprovisioning(runtime.queue, serverId);
  }

  /** Polls the server's state (bounded); fails early with the server's reason if it failed. */
  async waitForState(serverId: string, state: ServerState, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const server = await this.prisma.server.findUniqueOrThrow({ where: { id: serverId } });
      if (server.state === state) return;
      if (server.state === 'failed' && state !== 'failed') throw new Error(`server failed: ${server.stateReason ?? '(no reason)'}`);
      if (Date.now() > deadline) throw new Error(`server still ${server.state} after ${timeoutMs} ms (waiting for ${state})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async adminPassword(serverId: string): Promise<{ jid: string; password: string }> {
    const credential = await this.prisma.serverCredential.findFirstOrThrow({
      where: { serverId, kind: 'admin' },
      orderBy: { issuance: 'desc' },
      include: { secret: true },
    });
    return { jid: credential.jid, password: this.secrets.open(credential.secret, adminSecretContext(serverId)) };
  }

  /** Stops the worker and starts a new one, as a deploy or a crash-restart would. */
  async restartWorker(): Promise<WorkerRuntime> {
    await this.stopWorker();
    return this.startWorker();
  }

  /** Stops the worker; the next startWorker starts a new one (with the config as it is then). */
  async stopWorker(): Promise<void> {
    const stopping = this.starting;
    this.starting = undefined;
    this.runtime = undefined;
    // A start that failed left nothing to close.
    const runtime = await stopping?.catch(() => undefined);
    await runtime?.close();
  }

  /** The zone's provider, as the worker talks to it. */
  get dns(): DnsProvider {
    return createDnsProvider(this.config);
  }

  async close(): Promise<void> {
    await this.runtime?.close();
    // The node's own records (its TURN host) outlive its servers: withdrawn with the database.
    const node = await this.prisma.node.findUnique({ where: { name: this.config.node.name } });
    if (node) await new DnsLedger(this.prisma, this.dns, this.config.platformZone).withdraw({ nodeId: node.id });
    await this.redis.stop();
    await this.db.drop();
  }
}
