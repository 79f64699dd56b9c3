import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { FlowProducer, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createPrismaClient } from '../../prisma/client.js';
import type { WorkerConfig } from './config.js';
import { createAdapters } from './adapters.js';
import { RedisKeyedLock } from './adapters/redis-keyed-lock.js';
import { describeError } from './contracts/dependency-check.js';
import { ConfigError } from './contracts/env-fields.js';
import { BackupRepositoryError, type BackupRepository } from './ports/backup-repository.js';
import { ACCOUNT_CENSUS_JOB, BACKUP_SCHEDULE_JOB, COMPLIANCE_CHECK_JOB, DATABASE_BACKUP_JOB, PROVISION_STEPS, PROVISIONING_QUEUE, RECONCILE_JOB, RENEW_JOB, RENEWAL_SCAN_JOB, RESEAL_SECRETS_JOB, SWEEP_JOB, renewJobId, stepJobId, type RenewJob } from './contracts/provisioning.js';
import { SWEEP_INTERVAL_MS } from './housekeeping/sweep.js';
import { SecretSealer } from './crypto/secret-sealer.js';
import { startHealthReporter } from './health/health-reporter.js';
import { statusIncidentRecorder } from './health/status-incidents.js';
import { DnsLedger } from './provisioning/dns-ledger.js';
import { Failpoints } from './provisioning/failpoints.js';
import { registerNode, registeredNodes } from './provisioning/node-registry.js';
import { provisioningRegistry } from './provisioning/provisioning.processor.js';
import { enqueueDeprovisioning, enqueueNodeDrain, enqueueServerMove, enqueueHealthCheckAt, enqueueHealthChecks, enqueueProvisioning, enqueueServerBackup, enqueueComplianceCheck, restartProvisioning } from './contracts/provisioning-flow.js';
import { retryDelayMs } from './jobs/retry-delay.js';
import { RENEW_JOB_OPTIONS } from './provisioning/renewal-backoff.js';
import { watchContainerEvents } from './healing/container-event-watcher.js';
import type { JobQueue, StepDeps } from './provisioning/step-deps.js';
import { trustedRootsFrom } from './provisioning/trusted-roots.js';
import { XMPP_USERS_QUEUE, enqueueInviteJob, enqueueUserJob } from './contracts/xmpp-user-jobs.js';
import { serverJobs } from './provisioning/queued-work.js';
import { xmppUsersRegistry } from './xmpp-users/xmpp-users.processor.js';
import { Timeline } from './provisioning/timeline.js';
import { startKeeperLoop } from './jobs/keeper-loop.js';
import { keepTurnCertificate } from './calls/turn-certificate.js';
import { WorkerMetrics } from './metrics/worker-metrics.js';
import { listenForMetrics } from './metrics/metrics-http-server.js';
import { serverMetricsRoutes } from './metrics/server-targets.js';

/** The first retry of a failed TURN certificate run; later ones double, up to the renewal scan's interval. */
const TURN_CERTIFICATE_RETRY_MS = 5_000;

/**
 * A wrong repository password is a configuration error: the worker refuses to start. A repository
 * that cannot be reached now (remote storage down) only delays backups, which retry on their own.
 */
async function openBackupRepository(backups: BackupRepository, logger: Logger): Promise<void> {
  try {
    await backups.open();
  } catch (error) {
    if (error instanceof BackupRepositoryError && error.kind === 'wrong_password') throw new ConfigError([`BACKUP_PASSWORD: ${error.message}`]);
    logger.error({ err: describeError(error) }, 'the backup repository cannot be opened; backups retry until it can');
  }
}

export interface WorkerRuntime {
  queue: Queue;
  flows: FlowProducer;
  /** host:port of the operators' listener (/metrics, /targets/servers); null when off. */
  metricsAddress: string | null;
  /** Stops taking jobs, lets running ones finish (bounded by the config), then disconnects. */
  close(): Promise<void>;
}

/** Wires the worker: adapters behind ports, the provisioning queue, the health heartbeat. */
export async function startWorkerRuntime(config: WorkerConfig, logger: Logger): Promise<WorkerRuntime> {
  // Before touching anything: a declared job with no handler, or with two, refuses to start.
  const provisioningJobs = provisioningRegistry();
  const xmppUsersJobs = xmppUsersRegistry();
  const prisma = createPrismaClient(config.databaseUrl);
  const secrets = SecretSealer.fromKeyrings(config.keyrings);
  const nodeId = await registerNode(prisma, {
    name: config.node.name,
    hostname: config.node.hostname,
    publicAddress: config.docker.publicAddress,
    dockerEndpoint: `unix://${config.docker.socketPath}`,
    portRangeStart: config.node.portRangeStart,
    portRangeEnd: config.node.portRangeEnd,
    turnPort: config.calls?.turnPort ?? null,
    turnRelayPorts: config.calls?.relayPorts ?? null,
    turnTlsPort: config.calls?.tls?.port ?? null,
  });

  // BullMQ needs commands to wait for a reconnect instead of failing (maxRetriesPerRequest null).
  const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  connection.on('error', (error) => logger.debug({ err: describeError(error) }, 'redis connection error'));
  // Several worker processes may write one zone: the lock lives in Redis.
  const adapters = createAdapters(config, new RedisKeyedLock(connection), () => registeredNodes(prisma));
  // Before any job runs: no customer's container may start without its network confined.
  try {
    // A Swarm's servers run on its nodes: each node's firewall, not this host's (a node that is
    // down gets it when it is back, see the reconciler).
    if (adapters.nodeFirewalls) await adapters.nodeFirewalls.applyAll(await adapters.containers.downNodes());
    else await adapters.firewall.apply({ bridge: config.node.tenantNetwork, publishedPorts: config.node.reachablePorts, containerDns: config.node.containerDns });
    await openBackupRepository(adapters.backups, logger);
  } catch (error) {
    connection.disconnect();
    await adapters.turnSecrets?.close();
    await prisma.$disconnect();
    throw error;
  }
  const databaseBackup = { repository: adapters.backups, databaseUrl: config.databaseUrl, childPath: config.backups.childPath, keep: config.backups.databaseKeep };
  const queue = new Queue(PROVISIONING_QUEUE, { connection });
  const usersQueue = new Queue(XMPP_USERS_QUEUE, { connection });
  const flows = new FlowProducer({ connection });
  // Without a listener BullMQ prints every reconnect failure to the console while Redis is down.
  const onProducerError = (error: Error) => logger.debug({ err: describeError(error) }, 'redis connection error');
  queue.on('error', onProducerError);
  flows.on('error', onProducerError);

  const jobs: JobQueue = {
    activeStep: async (serverId) => {
      for (const step of PROVISION_STEPS) {
        const job = await queue.getJob(stepJobId(serverId, step));
        if (job && (await job.isActive())) return step;
      }
      return null;
    },
    enqueueRenewal: async (serverId, certificateId) => {
      const data: RenewJob = { serverId, certificateId };
      await queue.add(RENEW_JOB, data, { ...RENEW_JOB_OPTIONS, jobId: renewJobId(certificateId) });
    },
    enqueueProvisioning: (serverId) => enqueueProvisioning(flows, serverId),
    enqueueDeprovisioning: (serverId) => enqueueDeprovisioning(queue, serverId),
    enqueueHealthChecks: (serverIds) => enqueueHealthChecks(queue, serverIds),
    enqueueHealthCheckAt: (serverId, at) => enqueueHealthCheckAt(queue, serverId, at),
    busyWith: async (serverId, exceptJobId) => {
      // Bounded by the workers' concurrency: only jobs running right now are listed.
      const running = await queue.getActive();
      // Compliance checks only log in and make throwaway accounts: they race no repair or action.
      return running.find((j) => j.id !== exceptJobId && j.name !== COMPLIANCE_CHECK_JOB && (j.data as { serverId?: unknown }).serverId === serverId)?.name ?? null;
    },
    serverJobs: (serverId, kind) => serverJobs(queue, serverId, kind),
    restartProvisioning: (serverId) => restartProvisioning(queue, flows, serverId),
    enqueueUserJob: async (name, job) => {
      await enqueueUserJob(usersQueue, name, job);
    },
    enqueueInviteJob: async (name, job) => {
      await enqueueInviteJob(usersQueue, name, job);
    },
    enqueueBackup: (job) => enqueueServerBackup(queue, job),
    enqueueComplianceCheck: (serverId) => enqueueComplianceCheck(queue, { serverId }),
    complianceRunsUnderWay: async () =>
      // Bounded by the workers' concurrency, as in busyWith.
      (await queue.getActive()).flatMap((j) => {
        const { serverId } = j.data as { serverId?: unknown };
        return j.name === COMPLIANCE_CHECK_JOB && j.id !== undefined && typeof serverId === 'string' ? [{ jobId: j.id, serverId, queuedAt: j.timestamp }] : [];
      }),
    enqueueNodeDrain: (job) => enqueueNodeDrain(queue, job),
    enqueueMove: (job) => enqueueServerMove(queue, job),
  };
  // Every worker upserts the same scheduler; Redis holds one, so the scan runs once per interval.
  await queue.upsertJobScheduler(RENEWAL_SCAN_JOB, { every: config.jobs.renewalScanIntervalMs }, { name: RENEWAL_SCAN_JOB, data: {} });
  await queue.upsertJobScheduler(RECONCILE_JOB, { every: config.jobs.reconcileIntervalMs }, { name: RECONCILE_JOB, data: {} });
  await queue.upsertJobScheduler(SWEEP_JOB, { every: SWEEP_INTERVAL_MS }, { name: SWEEP_JOB, data: {} });
  await queue.upsertJobScheduler(RESEAL_SECRETS_JOB, { every: config.jobs.resealIntervalMs }, { name: RESEAL_SECRETS_JOB, data: {} });
  await queue.upsertJobScheduler(ACCOUNT_CENSUS_JOB, { every: config.jobs.accountCensusIntervalMs }, { name: ACCOUNT_CENSUS_JOB, data: {} });
  if (config.backups.scheduleIntervalMs > 0) {
    await queue.upsertJobScheduler(BACKUP_SCHEDULE_JOB, { every: config.backups.scheduleIntervalMs }, { name: BACKUP_SCHEDULE_JOB, data: {} });
  } else {
    await queue.removeJobScheduler(BACKUP_SCHEDULE_JOB);
  }
  if (config.backups.databaseIntervalMs > 0) {
    await queue.upsertJobScheduler(DATABASE_BACKUP_JOB, { every: config.backups.databaseIntervalMs }, { name: DATABASE_BACKUP_JOB, data: {} });
  } else {
    await queue.removeJobScheduler(DATABASE_BACKUP_JOB);
  }
  const caBundle = config.acme.caBundleFile ? readFileSync(config.acme.caBundleFile) : undefined;
  const deps: StepDeps = {
    prisma,
    secrets,
    dns: adapters.dns,
    resolver: adapters.resolver,
    ledger: new DnsLedger(prisma, adapters.dns, config.platformZone),
    ca: adapters.ca,
    containers: adapters.containers,
    ...(adapters.nodeFirewalls ? { nodeFirewalls: adapters.nodeFirewalls } : {}),
    backups: adapters.backups,
    serverLock: new RedisKeyedLock(connection, { namespace: 'server' }),
    probe: adapters.probe,
    jobs,
    ...(config.calls && adapters.turnSecrets
      ? { calls: { turnSecrets: adapters.turnSecrets, turnPort: config.calls.turnPort, credentialTtlSeconds: config.calls.credentialTtlSeconds } }
      : {}),
    settings: {
      platformZone: config.platformZone,
      dnsResolver: config.dnsResolver,
      acmeContactEmail: config.acme.contactEmail,
      prosodyImage: config.prosodyImage,
      trustedRoots: trustedRootsFrom(config.acme.extraRootsUrl, caBundle),
      dnsPropagationTimeoutMs: config.timeouts.dnsPropagationMs,
      serviceStartTimeoutMs: config.timeouts.serviceStartMs,
      reconcileGraceMs: config.jobs.reconcileGraceMs,
      stuckAfterMs: config.deadlines.stuckAfterMs,
      nodeName: config.node.name,
      containerRuntime: config.docker.runtime,
      tenantNetwork: config.node.tenantNetwork,
      containerDns: config.node.containerDns,
      complianceAfterReady: config.jobs.complianceAfterReady,
      usageRetentionDays: config.jobs.usageRetentionDays,
      censusYield: config.jobs.censusYield,
      complianceYieldMaxMs: config.jobs.complianceYieldMaxMs,
      healthCheckTimeoutMs: config.jobs.healthCheckTimeoutMs,
      healthCheckConcurrency: config.jobs.healthCheckConcurrency,
      acmeOrderLimits: config.acme.orderLimits,
      deletionGraceMs: config.backups.deletionGraceMs,
      nodeLossRestoreAfterMs: config.jobs.nodeLossRestoreAfterMs,
    },
  };
  const metrics = new WorkerMetrics({ prisma, acmeOrderLimits: config.acme.orderLimits, nodeName: config.node.name, diskPath: config.docker.dataRoot });
  const observeStep = (step: string, outcome: 'succeeded' | 'failed', seconds: number) => metrics.steps.observe({ step, outcome }, seconds);
  const findingsSeen = (findings: Record<string, number>) => {
    for (const [kind, count] of Object.entries(findings)) metrics.findings.inc({ kind }, count);
  };
  // The operators' listener: the worker's metrics, and every hosted server's through it. Before
  // any job is taken: a worker that cannot serve its metrics refuses to start.
  let metricsAddress = '';
  const metricsListener =
    config.metrics &&
    (await listenForMetrics({
      ...config.metrics,
      registry: metrics.registry,
      routes: serverMetricsRoutes({ prisma, containers: adapters.containers, nodeName: config.node.name, listenAddress: () => metricsAddress }),
      setting: 'WORKER_METRICS_ADDRESS',
      onError: (error) => logger.warn({ err: describeError(error) }, 'a metrics request failed'),
    }));
  if (metricsListener) {
    metricsAddress = metricsListener.address;
    logger.info({ address: metricsListener.address }, 'metrics listener up');
  }
  const failpoints = new Failpoints(new Set(config.failpoints), (point) => {
    logger.warn({ failpoint: point }, 'failpoint reached; hanging until killed');
    process.stdout.write(`FAILPOINT ${point}\n`);
  });

  // Names this process in its health report and on every job it runs (BullMQ's processedBy), so an
  // operator running several workers can tell which one did what.
  const workerId = `${hostname()}:${process.pid}`;
  // BullMQ blocks on its worker connection; it does not close a connection it was given.
  const workerConnection = connection.duplicate();
  const worker = new Worker(PROVISIONING_QUEUE, provisioningJobs.processor({ deps, failpoints, timeline: new Timeline(prisma, observeStep), databaseBackup, findingsSeen }, config.deadlines.provisioningJobMs), {
    name: workerId,
    connection: workerConnection,
    concurrency: config.jobs.concurrency,
    lockDuration: config.jobs.lockMs,
    stalledInterval: config.jobs.stalledCheckMs,
    // A worker killed mid-step leaves its job stalled; the next worker picks it up again.
    maxStalledCount: 10,
    settings: { backoffStrategy: retryDelayMs },
  });
  // Users and invites on their own queue, so a burst of them never waits behind provisioning.
  const usersConnection = connection.duplicate();
  const usersWorker = new Worker(XMPP_USERS_QUEUE, xmppUsersJobs.processor({ deps, timeline: new Timeline(prisma, observeStep) }, config.deadlines.xmppUsersJobMs), {
    name: workerId,
    connection: usersConnection,
    concurrency: config.jobs.concurrency,
    lockDuration: config.jobs.lockMs,
    stalledInterval: config.jobs.stalledCheckMs,
    maxStalledCount: 10,
  });
  for (const w of [worker, usersWorker]) {
    w.on('completed', (job) => metrics.jobs.inc({ queue: w.name, job: job.name, outcome: 'completed' }));
    w.on('failed', (job, error) => {
      metrics.jobs.inc({ queue: w.name, job: job?.name ?? 'unknown', outcome: 'failed' });
      logger.warn({ job: job?.id, err: describeError(error) }, 'job failed');
    });
    w.on('error', (error) => logger.error({ err: describeError(error) }, 'worker error'));
  }

  // Fails fast instead of queueing while Redis is down, so a health report is never stale.
  const healthRedis = new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  healthRedis.on('error', (error) => logger.debug({ err: describeError(error) }, 'redis connection error'));
  const reporter = startHealthReporter({
    redis: healthRedis,
    workerId,
    probes: { docker: () => adapters.containers.ping(), dns: () => adapters.dns.ping(), ca: () => adapters.ca.ping() },
    intervalMs: config.healthReportIntervalMs,
    onPublishError: (error) => logger.debug({ err: describeError(error) }, 'could not publish the health report'),
    onReport: statusIncidentRecorder(prisma, logger),
    node: { nodeName: config.node.name, diskPath: config.docker.dataRoot },
  });

  const turnTls = adapters.turnTls;
  // Node-local, not a queued job: the certificate's files are on this node, for its coturn.
  const turnCertificate =
    turnTls &&
    startKeeperLoop({
      what: 'TURN certificate',
      keep: () =>
        deps.serverLock.run(`turn-certificate:${nodeId}`, () =>
          keepTurnCertificate(deps, turnTls, { id: nodeId, hostname: config.node.hostname, publicAddress: config.docker.publicAddress }),
        ),
      intervalMs: config.jobs.renewalScanIntervalMs,
      retryMs: TURN_CERTIFICATE_RETRY_MS,
      logger,
    });

  const containerEvents = watchContainerEvents({
    containers: adapters.containers,
    checkServers: (serverIds) => jobs.enqueueHealthChecks(serverIds),
    requestPass: async () => {
      await queue.add(RECONCILE_JOB, {}, { jobId: `${RECONCILE_JOB}.after-connect.${Date.now()}`, removeOnComplete: true, removeOnFail: true });
    },
    logger,
  });

  return {
    queue,
    flows,
    metricsAddress: metricsListener ? metricsListener.address : null,
    close: async () => {
      containerEvents.stop();
      await reporter.stop();
      await turnCertificate?.stop();
      await metricsListener?.close();
      await Promise.all([worker.close(), usersWorker.close()]);
      await Promise.all([queue.close(), usersQueue.close(), flows.close()]);
      workerConnection.disconnect();
      usersConnection.disconnect();
      healthRedis.disconnect();
      await connection.quit().catch(() => connection.disconnect());
      await adapters.turnSecrets?.close();
      await prisma.$disconnect();
    },
  };
}
