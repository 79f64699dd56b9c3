import { z } from 'zod';
import { envFields, parseEnv } from './contracts/env-fields.js';

function requireWhen(ctx: z.RefinementCtx, name: string, value: string | undefined, when: string): void {
  if (!value) ctx.addIssue({ code: 'custom', path: [name], message: `is required when ${when}` });
}

const workerEnvSchema = z
  .object({
    PARLEY_MODE: envFields.mode,
    LOG_LEVEL: envFields.logLevel,
    DATABASE_URL: envFields.databaseUrl,
    REDIS_URL: envFields.redisUrl,
    SECRETS_KEYRING: envFields.secretsKeyring,
    PLATFORM_ZONE: envFields.platformZone,
    DNS_RESOLVER: envFields.hostPort,
    DNS_PROVIDER: z.enum(['powerdns', 'route53'], { error: 'must be "powerdns" or "route53"' }),
    PDNS_API_URL: envFields.httpUrl('http://127.0.0.1:8081').optional(),
    PDNS_API_KEY: z.string().min(1).optional(),
    PDNS_SERVER_ID: z.string().default('localhost'),
    ROUTE53_HOSTED_ZONE_ID: z.string().regex(/^[A-Z0-9]{1,32}$/, 'must be a hosted zone id such as Z0123456789ABC').optional(),
    ROUTE53_ENDPOINT: envFields.httpUrl('https://route53.amazonaws.com').optional(),
    AWS_REGION: z.string().default('us-east-1'),
    ACME_DIRECTORY_URL: envFields.httpUrl('https://acme-staging-v02.api.letsencrypt.org/directory'),
    ACME_CA_BUNDLE_FILE: z.string().min(1).optional(),
    ACME_CONTACT_EMAIL: z.email('must be an email address'),
    DOCKER_SOCKET: z.string().default('/var/run/docker.sock'),
    NODE_PUBLIC_ADDRESS: z.union([z.ipv4(), z.ipv6()], { error: 'must be an IP address' }),
    HEALTH_REPORT_INTERVAL_MS: z.coerce.number().int().min(200).max(60_000).default(5_000),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(20_000),
  })
  .superRefine((env, ctx) => {
    if (env.DNS_PROVIDER === 'powerdns') {
      requireWhen(ctx, 'PDNS_API_URL', env.PDNS_API_URL, 'DNS_PROVIDER=powerdns');
      requireWhen(ctx, 'PDNS_API_KEY', env.PDNS_API_KEY, 'DNS_PROVIDER=powerdns');
    } else {
      requireWhen(ctx, 'ROUTE53_HOSTED_ZONE_ID', env.ROUTE53_HOSTED_ZONE_ID, 'DNS_PROVIDER=route53');
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
  secretsKeyring: string;
  platformZone: string;
  dnsResolver: string;
  dns: DnsProviderConfig;
  acme: { directoryUrl: string; caBundleFile: string | undefined; contactEmail: string };
  docker: { socketPath: string; publicAddress: string };
  healthReportIntervalMs: number;
  shutdownTimeoutMs: number;
}

/** AWS credentials are left to the SDK's default provider chain (env, profile, instance role). */
export function loadWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  const e = parseEnv(workerEnvSchema, env);
  return {
    mode: e.PARLEY_MODE,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    secretsKeyring: e.SECRETS_KEYRING,
    platformZone: e.PLATFORM_ZONE,
    dnsResolver: e.DNS_RESOLVER,
    dns:
      e.DNS_PROVIDER === 'powerdns'
        ? { kind: 'powerdns', apiUrl: e.PDNS_API_URL ?? '', apiKey: e.PDNS_API_KEY ?? '', serverId: e.PDNS_SERVER_ID }
        : { kind: 'route53', hostedZoneId: e.ROUTE53_HOSTED_ZONE_ID ?? '', region: e.AWS_REGION, endpoint: e.ROUTE53_ENDPOINT },
    acme: { directoryUrl: e.ACME_DIRECTORY_URL, caBundleFile: e.ACME_CA_BUNDLE_FILE, contactEmail: e.ACME_CONTACT_EMAIL },
    docker: { socketPath: e.DOCKER_SOCKET, publicAddress: e.NODE_PUBLIC_ADDRESS },
    healthReportIntervalMs: e.HEALTH_REPORT_INTERVAL_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  };
}
