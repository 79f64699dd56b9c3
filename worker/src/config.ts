import { isIPv4 } from 'node:net';
import { z } from 'zod';
import { envFields, listenAddressOf, optionalUnlessBlank, parseEnv } from './contracts/env-fields.js';
import { acmeOrderLimitsEnv, acmeOrderLimitsOf, type AcmeOrderLimits } from './contracts/acme-order-limits.js';
import { TENANT_NETWORK_NAME } from './ports/container-runtime.js';
import type { OrderYieldLimits } from './housekeeping/order-yield.js';

const keysOf = (keyring: string): string[] => keyring.split(',').map((entry) => entry.trim().split(':')[1] ?? '');

function requireWhen(ctx: z.RefinementCtx, name: string, value: string | undefined, when: string): void {
  if (!value) ctx.addIssue({ code: 'custom', path: [name], message: `is required when ${when}` });
}

const portRange = z
  .string()
  .regex(/^\d{4,5}-\d{4,5}$/, 'must be FIRST-LAST, for example 20000-29999')
  .refine((v) => {
    const [a, b] = v.split('-').map(Number);
    return a !== undefined && b !== undefined && a >= 1024 && b <= 65535 && a + 3 <= b;
  }, 'must lie within 1024-65535 and hold at least four ports');

const rangeOf = (v: string) => {
  const [first, last] = v.split('-').map(Number);
  return { first: first ?? 0, last: last ?? 0 };
};

const workerEnvSchema = z
  .object({
    PARLEY_MODE: envFields.mode,
    LOG_LEVEL: envFields.logLevel,
    DATABASE_URL: envFields.databaseUrl,
    REDIS_URL: envFields.redisUrl,
    SECRETS_KEYRING: envFields.secretsKeyring,
    // The platform's own keys (ACME account, TLS): the worker's alone, never given to the API.
    PLATFORM_KEYRING: envFields.secretsKeyring,
    SECRETS_RESEAL_INTERVAL_MS: z.coerce.number().int().min(60_000).max(7 * 86_400_000).default(3_600_000),
    // Whether each server's XEP-0479 checks run once it is ready (they can always be asked for).
    COMPLIANCE_AFTER_READY: z.enum(['true', 'false'], { error: 'must be "true" or "false"' }).default('true'),
    ACCOUNT_CENSUS_INTERVAL_MS: z.coerce.number().int().min(10_000).max(86_400_000).default(600_000),
    // The longest the census waits before one server while an order is being built on its node; 0: it never waits.
    CENSUS_YIELD_MAX_MS: z.coerce.number().int().min(0).max(60_000).default(10_000),
    // How long after it was queued a compliance run may still step aside for orders being built on its node; 0: it never does.
    COMPLIANCE_YIELD_MAX_MS: z.coerce.number().int().min(0).max(600_000).default(60_000),
    // At least the usage page's longest chart (30 days).
    USAGE_RETENTION_DAYS: z.coerce.number().int().min(31).max(3_650).default(90),
    BACKUP_REPOSITORY: envFields.backupRepository,
    BACKUP_PASSWORD: envFields.backupPassword,
    // 0 turns the schedule off (the database is backed up some other way).
    DATABASE_BACKUP_INTERVAL_MS: z.coerce.number().int().refine((ms) => ms === 0 || (ms >= 60_000 && ms <= 7 * 86_400_000), 'must be 0 (off) or from 60000 to 604800000').default(21_600_000),
    DATABASE_BACKUP_KEEP_DAILY: z.coerce.number().int().min(1).max(365).default(7),
    DATABASE_BACKUP_KEEP_WEEKLY: z.coerce.number().int().min(0).max(520).default(4),
    // A deleted server's final backup is kept this long, during which the deletion can be undone; 0: no final backup.
    DELETED_SERVER_GRACE_DAYS: z.coerce.number().int().min(0).max(90).default(7),
    // How often the scheduler looks for servers whose plan's backup interval has passed; 0: off.
    BACKUP_SCHEDULE_INTERVAL_MS: z.coerce.number().int().refine((ms) => ms === 0 || (ms >= 10_000 && ms <= 86_400_000), 'must be 0 (off) or from 10000 to 86400000').default(300_000),
    PATH: envFields.childPath,
    PLATFORM_ZONE: envFields.platformZone,
    DNS_RESOLVER: envFields.hostPort,
    DNS_PROVIDER: z.enum(['powerdns', 'route53'], { error: 'must be "powerdns" or "route53"' }),
    PDNS_API_URL: envFields.httpUrl('http://127.0.0.1:8081').optional(),
    PDNS_API_KEY: optionalUnlessBlank(z.string().min(1)),
    PDNS_SERVER_ID: z.string().default('localhost'),
    ROUTE53_HOSTED_ZONE_ID: optionalUnlessBlank(z.string().regex(/^[A-Z0-9]{1,32}$/, 'must be a hosted zone id such as Z0123456789ABC')),
    ROUTE53_ENDPOINT: envFields.httpUrl('https://route53.amazonaws.com').optional(),
    AWS_REGION: z.string().default('us-east-1'),
    ACME_DIRECTORY_URL: envFields.httpUrl('https://acme-staging-v02.api.letsencrypt.org/directory'),
    ACME_CA_BUNDLE_FILE: z.string().min(1).optional(),
    ACME_CONTACT_EMAIL: z.email('must be an email address'),
    ...acmeOrderLimitsEnv,
    DOCKER_SOCKET: z.string().default('/var/run/docker.sock'),
    // docker: servers are containers on DOCKER_SOCKET's engine. swarm: that engine is a Swarm
    // manager, servers are services on the nodes Parley has registered (./parley node add).
    CONTAINER_RUNTIME: z.enum(['docker', 'swarm']).default('docker'),
    // What the worker runs on each Swarm node to install its tenant firewall (infra/node-agent).
    NODE_AGENT_IMAGE: optionalUnlessBlank(z.string().regex(/^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9._-]+$/, 'must be an image reference such as parley/node-agent:0123abcd')),
    // The disk the node's servers fill (their volumes): its use is a metric operators alert on.
    DOCKER_DATA_ROOT: z.string().startsWith('/', 'must be an absolute path').default('/var/lib/docker'),
    NODE_PUBLIC_ADDRESS: z.union([z.ipv4(), z.ipv6()], { error: 'must be an IP address' }),
    ACME_EXTRA_ROOTS_URL: envFields.httpUrl('https://127.0.0.1:15000/roots/0').optional(),
    PROSODY_IMAGE: z.string({ error: 'is required but not set (./parley sets it from infra/image/build.sh)' }).regex(/^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9._-]+$/, 'must be an image reference such as parley/prosody:0123abcd'),
    NODE_NAME: z.string().regex(/^[a-z0-9-]{1,40}$/, 'must be lowercase letters, digits and hyphens').default('node1'),
    NODE_PORT_RANGE: portRange.default('20000-29999'),
    // The ports customers' containers may reach on the node's addresses (other servers'): the
    // node's range by default; a host running several workers (the tests) names the union.
    TENANT_REACHABLE_PORTS: portRange.optional(),
    // Name servers customers' containers resolve through (Docker's default: the host's); the
    // sandbox names its PowerDNS, so servers find each other in the platform zone.
    CONTAINER_DNS: z
      .string()
      .default('')
      .transform((v) => v.split(',').map((a) => a.trim()).filter(Boolean))
      .refine((list) => list.every((a) => isIPv4(a)), 'must be comma-separated IPv4 addresses')
      .refine((list) => list.length <= 3, 'must name at most 3 name servers'),
    // Also the name of its bridge interface, which the tenant firewall matches.
    TENANT_NETWORK: z.string().regex(TENANT_NETWORK_NAME, 'must be 1-15 lowercase letters, digits and hyphens, starting with a letter').default('parley-tenants'),
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
    JOB_LOCK_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
    STALLED_CHECK_MS: z.coerce.number().int().min(500).max(600_000).default(30_000),
    RENEWAL_SCAN_INTERVAL_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(3_600_000),
    RECONCILE_INTERVAL_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(30_000),
    RECONCILE_GRACE_MS: z.coerce.number().int().min(0).max(3_600_000).default(15_000),
    // How long a node may stay down before its servers are restored on other nodes from their
    // latest backups (changes after that backup are lost, so not at once); 0: only by an operator.
    NODE_LOSS_RESTORE_AFTER_MS: z.coerce.number().int().min(0).max(7 * 86_400_000).default(1_800_000),
    SERVER_CHECK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3_000),
    SERVER_CHECK_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
    DNS_PROPAGATION_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(900_000).default(120_000),
    SERVICE_START_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(60_000),
    ACME_HTTP_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(30_000),
    DOCKER_API_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(120_000),
    DNS_API_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(15_000),
    PROVISIONING_JOB_DEADLINE_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(900_000),
    XMPP_USERS_JOB_DEADLINE_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(180_000),
    RECONCILE_STUCK_AFTER_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(1_800_000),
    PARLEY_FAILPOINTS: z.string().regex(/^[a-z_.,-]*$/, 'must be comma-separated failpoint names').default(''),
    HEALTH_REPORT_INTERVAL_MS: z.coerce.number().int().min(200).max(60_000).default(5_000),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(20_000),
    // Calls: the database the node's coturn reads TURN secrets from (as a role that may write
    // them); unset, servers advertise no STUN/TURN. coturn's port on the node's public address,
    // and how long the credentials Prosody hands out stay valid.
    TURN_SECRETS_DATABASE_URL: envFields.databaseUrl.optional(),
    TURN_PORT: z.coerce.number().int().min(1).max(65535).default(3478),
    // coturn's relay ports, which callers' networks must let through (shown to customers).
    TURN_RELAY_PORTS: portRange.default('48000-48999'),
    TURN_CREDENTIAL_TTL_SECONDS: z.coerce.number().int().min(60).max(604_800).default(86_400),
    TURN_SECRETS_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
    // TURN over TLS: where coturn reads its certificate (chain.pem, key.pem) and its pid file, to
    // have it reload one the worker renewed. Unset or empty, the node offers no turns: entries.
    // The operators' listener: /metrics and the hosted servers' scrape targets (Prometheus http_sd).
    WORKER_METRICS_ADDRESS: envFields.metricsAddress.default('127.0.0.1:9102'),
    TURN_TLS_DIR: z.union([z.literal(''), z.string().startsWith('/', 'must be an absolute path')]).optional(),
    TURN_TLS_PORT: z.coerce.number().int().min(1).max(65535).default(5349),
    TURN_PID_FILE: z.string().startsWith('/', 'must be an absolute path').optional(),
  })
  .superRefine((env, ctx) => {
    if (env.DNS_PROVIDER === 'powerdns') {
      requireWhen(ctx, 'PDNS_API_URL', env.PDNS_API_URL, 'DNS_PROVIDER=powerdns');
      requireWhen(ctx, 'PDNS_API_KEY', env.PDNS_API_KEY, 'DNS_PROVIDER=powerdns');
    } else {
      requireWhen(ctx, 'ROUTE53_HOSTED_ZONE_ID', env.ROUTE53_HOSTED_ZONE_ID, 'DNS_PROVIDER=route53');
    }
    if (keysOf(env.PLATFORM_KEYRING).some((key) => keysOf(env.SECRETS_KEYRING).includes(key))) {
      ctx.addIssue({ code: 'custom', path: ['PLATFORM_KEYRING'], message: 'must not reuse a key of SECRETS_KEYRING, which the API holds too' });
    }
    if (env.TURN_TLS_DIR) requireWhen(ctx, 'TURN_PID_FILE', env.TURN_PID_FILE, 'TURN_TLS_DIR is set');
    if (env.CONTAINER_RUNTIME === 'swarm') requireWhen(ctx, 'NODE_AGENT_IMAGE', env.NODE_AGENT_IMAGE, 'CONTAINER_RUNTIME=swarm (./parley sets it from infra/node-agent/build.sh)');
    if (env.PARLEY_FAILPOINTS && env.PARLEY_MODE !== 'sandbox') {
      ctx.addIssue({ code: 'custom', path: ['PARLEY_FAILPOINTS'], message: 'is for crash tests and only allowed in sandbox mode' });
    }
  });

export type DnsProviderConfig =
  | { kind: 'powerdns'; apiUrl: string; apiKey: string; serverId: string }
  | { kind: 'route53'; hostedZoneId: string; region: string; endpoint: string | undefined };

export interface WorkerConfig {
  mode: 'sandbox' | 'production';
  logLevel: string;
  databaseUrl: string;
  redisUrl: string;
  /** SECRETS_KEYRING seals customers' credentials (the API holds it too), PLATFORM_KEYRING the platform's own keys. */
  keyrings: { credentials: string; platform: string };
  /** The restic repository every backup goes to, and how the platform database is backed up. */
  backups: {
    repository: string;
    password: string;
    /** 0: no scheduled backup of the platform database. */
    databaseIntervalMs: number;
    databaseKeep: { daily: number; weekly: number };
    /** How long a deleted server's data is kept (its final backup); 0: none is taken. */
    deletionGraceMs: number;
    /** How often servers due for their plan's backup are looked for; 0: never. */
    scheduleIntervalMs: number;
    /** PATH for the programs backups run (restic, pg_dump). */
    childPath: string;
  };
  platformZone: string;
  dnsResolver: string;
  dns: DnsProviderConfig;
  acme: {
    directoryUrl: string;
    caBundleFile: string | undefined;
    contactEmail: string;
    extraRootsUrl: string | undefined;
    /** New orders allowed per sliding window: per ACME account (the platform) and per customer account. */
    orderLimits: AcmeOrderLimits;
  };
  /** dataRoot: where the engine keeps volumes (the disk whose use operators watch). */
  /** agentImage: the node agent image, for a Swarm's nodes (null on one engine). */
  docker: { socketPath: string; publicAddress: string; dataRoot: string; runtime: 'docker' | 'swarm'; agentImage: string | null };
  prosodyImage: string;
  node: {
    name: string;
    hostname: string;
    portRangeStart: number;
    portRangeEnd: number;
    /** The one Docker network every server's container joins, its containers cut off from each other. */
    tenantNetwork: string;
    /** Ports on the node's addresses customers' containers may reach (other servers' published ports). */
    reachablePorts: { first: number; last: number };
    /** Name servers containers resolve through; empty: Docker's default (the host's resolvers). */
    containerDns: string[];
  };
  jobs: {
    concurrency: number;
    lockMs: number;
    stalledCheckMs: number;
    renewalScanIntervalMs: number;
    reconcileIntervalMs: number;
    /** How often secrets still sealed under an older key (or the wrong keyring) are re-sealed. */
    resealIntervalMs: number;
    /** How often every ready server's Prosody accounts are counted (seats hold on real accounts). */
    accountCensusIntervalMs: number;
    /** How long the census steps aside for orders in flight: per server, and per pass (half its interval). */
    censusYield: OrderYieldLimits;
    /** How long each server's usage samples (taken by the census) and message counts are kept. */
    usageRetentionDays: number;
    reconcileGraceMs: number;
    /** How long a node may be down before its servers are restored elsewhere; 0: never automatically. */
    nodeLossRestoreAfterMs: number;
    /** Whether a server's compliance checks are queued as soon as it is ready. */
    complianceAfterReady: boolean;
    /** How long after it was queued a compliance run may still step aside for orders in flight. */
    complianceYieldMaxMs: number;
    /** Bound on one STARTTLS look at a server, and how many run at once in a pass. */
    healthCheckTimeoutMs: number;
    healthCheckConcurrency: number;
  };
  /** Bounds on every call to the outside (each HTTP request or API call, not a whole job). */
  timeouts: { dnsPropagationMs: number; serviceStartMs: number; acmeHttpMs: number; dockerApiMs: number; dnsApiMs: number };
  /**
   * How long one run of a job may take on each queue before it fails and is retried, and how long
   * an order or deletion may sit unfinished with nothing queued before the reconciler re-queues it.
   */
  deadlines: { provisioningJobMs: number; xmppUsersJobMs: number; stuckAfterMs: number };
  failpoints: string[];
  healthReportIntervalMs: number;
  shutdownTimeoutMs: number;
  /** Audio and video calls through the node's coturn; undefined: not offered. */
  calls: CallsConfig | undefined;
  /** Where /metrics and the scrape targets are served; null: not at all. */
  metrics: { host: string; port: number } | null;
}

export interface CallsConfig {
  /** coturn's secrets database (its realm is the platform zone), and the bound on each call to it. */
  turnSecretsDatabaseUrl: string;
  turnSecretsTimeoutMs: number;
  /** coturn's STUN/TURN port (UDP and TCP) on the node's public address. */
  turnPort: number;
  /** coturn's relay ports (UDP), FIRST-LAST. */
  relayPorts: string;
  credentialTtlSeconds: number;
  /** coturn's TURN over TLS, with a certificate for turn.<node hostname> the worker keeps; null: none. */
  tls: TurnTlsConfig | null;
}

export interface TurnTlsConfig {
  port: number;
  /** Where coturn reads chain.pem and key.pem (setgid to its group, so it may read the key). */
  dir: string;
  /** coturn's pid file: the worker signals it to load a renewed certificate. */
  pidFile: string;
}

/** AWS credentials are left to the SDK's default provider chain (env, profile, instance role). */
export function loadWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  const e = parseEnv(workerEnvSchema, env);
  return {
    mode: e.PARLEY_MODE,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    keyrings: { credentials: e.SECRETS_KEYRING, platform: e.PLATFORM_KEYRING },
    backups: {
      repository: e.BACKUP_REPOSITORY,
      password: e.BACKUP_PASSWORD,
      databaseIntervalMs: e.DATABASE_BACKUP_INTERVAL_MS,
      databaseKeep: { daily: e.DATABASE_BACKUP_KEEP_DAILY, weekly: e.DATABASE_BACKUP_KEEP_WEEKLY },
      scheduleIntervalMs: e.BACKUP_SCHEDULE_INTERVAL_MS,
      deletionGraceMs: e.DELETED_SERVER_GRACE_DAYS * 86_400_000,
      childPath: e.PATH,
    },
    platformZone: e.PLATFORM_ZONE,
    dnsResolver: e.DNS_RESOLVER,
    dns:
      e.DNS_PROVIDER === 'powerdns'
        ? { kind: 'powerdns', apiUrl: e.PDNS_API_URL ?? '', apiKey: e.PDNS_API_KEY ?? '', serverId: e.PDNS_SERVER_ID }
        : { kind: 'route53', hostedZoneId: e.ROUTE53_HOSTED_ZONE_ID ?? '', region: e.AWS_REGION, endpoint: e.ROUTE53_ENDPOINT },
    acme: {
      directoryUrl: e.ACME_DIRECTORY_URL,
      caBundleFile: e.ACME_CA_BUNDLE_FILE,
      contactEmail: e.ACME_CONTACT_EMAIL,
      extraRootsUrl: e.ACME_EXTRA_ROOTS_URL,
      orderLimits: acmeOrderLimitsOf(e),
    },
    docker: { socketPath: e.DOCKER_SOCKET, publicAddress: e.NODE_PUBLIC_ADDRESS, dataRoot: e.DOCKER_DATA_ROOT, runtime: e.CONTAINER_RUNTIME, agentImage: e.NODE_AGENT_IMAGE ?? null },
    prosodyImage: e.PROSODY_IMAGE,
    node: {
      name: e.NODE_NAME,
      hostname: `${e.NODE_NAME}.${e.PLATFORM_ZONE}`,
      portRangeStart: rangeOf(e.NODE_PORT_RANGE).first,
      portRangeEnd: rangeOf(e.NODE_PORT_RANGE).last,
      tenantNetwork: e.TENANT_NETWORK,
      reachablePorts: rangeOf(e.TENANT_REACHABLE_PORTS ?? e.NODE_PORT_RANGE),
      containerDns: e.CONTAINER_DNS,
    },
    jobs: {
      concurrency: e.WORKER_CONCURRENCY,
      lockMs: e.JOB_LOCK_MS,
      stalledCheckMs: e.STALLED_CHECK_MS,
      renewalScanIntervalMs: e.RENEWAL_SCAN_INTERVAL_MS,
      reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
      resealIntervalMs: e.SECRETS_RESEAL_INTERVAL_MS,
      accountCensusIntervalMs: e.ACCOUNT_CENSUS_INTERVAL_MS,
      censusYield: { perServerMs: e.CENSUS_YIELD_MAX_MS, perPassMs: Math.floor(e.ACCOUNT_CENSUS_INTERVAL_MS / 2) },
      usageRetentionDays: e.USAGE_RETENTION_DAYS,
      reconcileGraceMs: e.RECONCILE_GRACE_MS,
      nodeLossRestoreAfterMs: e.NODE_LOSS_RESTORE_AFTER_MS,
      complianceAfterReady: e.COMPLIANCE_AFTER_READY === 'true',
      complianceYieldMaxMs: e.COMPLIANCE_YIELD_MAX_MS,
      healthCheckTimeoutMs: e.SERVER_CHECK_TIMEOUT_MS,
      healthCheckConcurrency: e.SERVER_CHECK_CONCURRENCY,
    },
    timeouts: {
      dnsPropagationMs: e.DNS_PROPAGATION_TIMEOUT_MS,
      serviceStartMs: e.SERVICE_START_TIMEOUT_MS,
      acmeHttpMs: e.ACME_HTTP_TIMEOUT_MS,
      dockerApiMs: e.DOCKER_API_TIMEOUT_MS,
      dnsApiMs: e.DNS_API_TIMEOUT_MS,
    },
    deadlines: {
      provisioningJobMs: e.PROVISIONING_JOB_DEADLINE_MS,
      xmppUsersJobMs: e.XMPP_USERS_JOB_DEADLINE_MS,
      stuckAfterMs: e.RECONCILE_STUCK_AFTER_MS,
    },
    failpoints: e.PARLEY_FAILPOINTS.split(',').filter(Boolean),
    healthReportIntervalMs: e.HEALTH_REPORT_INTERVAL_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    calls: e.TURN_SECRETS_DATABASE_URL
      ? { turnSecretsDatabaseUrl: e.TURN_SECRETS_DATABASE_URL, turnSecretsTimeoutMs: e.TURN_SECRETS_TIMEOUT_MS, turnPort: e.TURN_PORT, relayPorts: e.TURN_RELAY_PORTS, credentialTtlSeconds: e.TURN_CREDENTIAL_TTL_SECONDS, tls: turnTls(e) }
      : undefined,
    metrics: listenAddressOf(e.WORKER_METRICS_ADDRESS),
  };
}

function turnTls(e: { TURN_TLS_DIR?: string | undefined; TURN_TLS_PORT: number; TURN_PID_FILE?: string | undefined }): TurnTlsConfig | null {
  return e.TURN_TLS_DIR && e.TURN_PID_FILE ? { port: e.TURN_TLS_PORT, dir: e.TURN_TLS_DIR, pidFile: e.TURN_PID_FILE } : null;
}
