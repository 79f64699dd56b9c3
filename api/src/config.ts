import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { envFields, listenAddressOf, parseEnv } from '../../worker/src/contracts/env-fields.js';
import { acmeOrderLimitsEnv, acmeOrderLimitsOf, type AcmeOrderLimits } from '../../worker/src/contracts/acme-order-limits.js';

// Not z.coerce: parseEnv reports a failed coercion as "is required but not set".
const count = (what: string, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d{1,15}$/, `must be a whole number of ${what}`)
    .transform(Number)
    .pipe(z.number().min(1, `must be at least 1 ${what}`).max(max, `must be at most ${max} ${what}`));

const apiEnvSchema = z.object({
  PARLEY_MODE: envFields.mode,
  LOG_LEVEL: envFields.logLevel,
  DATABASE_URL: envFields.databaseUrl,
  REDIS_URL: envFields.redisUrl,
  API_HOST: z.union([z.ipv4(), z.ipv6(), z.literal('localhost')], { error: 'must be an IP address to listen on' }).default('127.0.0.1'),
  API_PORT: envFields.port.default(8080),
  // The operators' listener for Prometheus' /metrics, apart from the public port; empty: none.
  API_METRICS_ADDRESS: envFields.metricsAddress.default('127.0.0.1:9101'),
  PLATFORM_ZONE: envFields.platformZone,
  // Customers' own domains are verified by real lookups through it; unset, the system's resolvers.
  DNS_RESOLVER: z.union([z.literal(''), envFields.hostPort]).optional(),
  SECRETS_KEYRING: envFields.secretsKeyring,
  HEALTH_CHECK_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(1_500),
  // A request waits this long for a database connection (all busy, or Postgres slow to accept), then answers 503.
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  // Addresses of reverse proxies whose X-Forwarded-For is believed (comma-separated IPs or CIDRs).
  // Empty: the client is the TCP peer. Rate limits per IP depend on getting this right.
  TRUST_PROXY: z
    .string()
    .trim()
    .regex(/^([0-9a-fA-F.:/]+(\s*,\s*[0-9a-fA-F.:/]+)*)?$/, 'must be comma-separated IP addresses or CIDR ranges, e.g. 127.0.0.1,10.0.0.0/8')
    .default(''),
  SESSION_TTL_HOURS: count('hours', 8760).default(336),
  LOGIN_MAX_FAILURES_PER_EMAIL_AND_ADDRESS: count('attempts').default(5),
  LOGIN_MAX_FAILURES_PER_IP: count('attempts').default(50),
  LOGIN_LOCKOUT_MINUTES: count('minutes').default(15),
  SIGNUP_MAX_PER_IP_PER_HOUR: count('sign-ups').default(20),
  SIGNUP_MAX_PER_EMAIL_PER_HOUR: count('sign-ups').default(5),
  // An unverified custom domain is a claim that lapses, and an account holds only so many at once.
  DOMAIN_PENDING_TTL_DAYS: count('days', 365).default(7),
  DOMAIN_PENDING_LIMIT: count('domains', 10_000).default(10),
  // Each verification makes several DNS lookups for the caller: bounded per account.
  DOMAIN_VERIFY_MAX_PER_HOUR: count('verifications', 100_000).default(60),
  // Live timelines (Server-Sent Events) open at once, per account and per API process; how often an
  // open one checks that its session or token is still valid.
  STREAMS_PER_ACCOUNT: count('streams', 1_000).default(10),
  STREAMS_TOTAL: count('streams', 100_000).default(1_000),
  STREAM_RECHECK_SECONDS: count('seconds', 3_600).default(15),
  // The built dashboard (vite build output); the repository's web/dist unless set.
  WEB_DIST_DIR: z.string().trim().startsWith('/', 'must be an absolute path').optional(),
  // Account mail (verification, password reset) goes through this relay: smtp://HOST:PORT
  // (STARTTLS when offered) or smtps://, with USER:PASSWORD@ when it asks. Sandbox: the local mailbox.
  SMTP_URL: z.union([z.literal(''), envFields.smtpUrl]).optional(),
  MAIL_FROM: z.string().trim().max(254).optional(),
  // Where people reach the dashboard; the links in account mail start with it.
  PUBLIC_BASE_URL: z.union([z.literal(''), envFields.httpUrl('https://parley.example.com')]).optional(),
  EMAIL_VERIFICATION_TTL_HOURS: count('hours', 720).default(48),
  PASSWORD_RESET_TTL_MINUTES: count('minutes', 1_440).default(60),
  // Between a right password and the two-factor code of a log-in.
  LOGIN_CHALLENGE_TTL_MINUTES: count('minutes', 60).default(5),
  PASSWORD_RESET_MAX_PER_IP_PER_HOUR: count('requests').default(20),
  PASSWORD_RESET_MAX_PER_EMAIL_PER_HOUR: count('requests').default(3),
  VERIFICATION_MAIL_MAX_PER_ACCOUNT_PER_HOUR: count('mails').default(3),
  // The worker's ACME order budget, read here too so the operator console shows how much is spent.
  ...acmeOrderLimitsEnv,
}).superRefine((env, ctx) => {
  // The sandbox has defaults on this machine (the mailbox, the API's own address); production must say.
  if (env.PARLEY_MODE !== 'production') return;
  if (!env.SMTP_URL) ctx.addIssue({ code: 'custom', path: ['SMTP_URL'], message: 'is required in production: the SMTP relay that sends account mail' });
  if (!env.PUBLIC_BASE_URL?.startsWith('https://')) {
    ctx.addIssue({ code: 'custom', path: ['PUBLIC_BASE_URL'], message: 'is required in production: the https:// address of the dashboard, used in mailed links' });
  }
});

/** Where ./parley's mailbox (infra/mailbox) listens: the sandbox's relay when SMTP_URL is unset. */
export const SANDBOX_SMTP_URL = 'smtp://127.0.0.1:2525';

const DEFAULT_WEB_DIST_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** A limit of `max` attempts per `windowSeconds`, counted in Redis (see auth/attempt-limiter.ts). */
export interface RateLimit {
  max: number;
  windowSeconds: number;
}

/** Account mail: the relay, the sender, and where its links point. */
export interface MailConfig {
  smtpUrl: string;
  from: string;
  /** The dashboard's address, without a trailing slash. */
  publicBaseUrl: string;
}

/** How long each kind of one-time account token stays good. */
export interface AccountTokenTtls {
  emailVerificationMinutes: number;
  passwordResetMinutes: number;
  loginChallengeMinutes: number;
}

export interface DomainClaimRules {
  pendingTtlDays: number;
  pendingLimit: number;
}

export interface ApiConfig {
  mode: 'sandbox' | 'production';
  logLevel: string;
  databaseUrl: string;
  redisUrl: string;
  host: string;
  port: number;
  /** Where /metrics is served (never on the public port); null: not at all. */
  metrics: { host: string; port: number } | null;
  platformZone: string;
  /** ADDRESS:PORT of the resolver that verifies customers' domains; null: the system's resolvers. */
  dnsResolver: string | null;
  secretsKeyring: string;
  healthCheckTimeoutMs: number;
  databaseConnectTimeoutMs: number;
  /** Passed to Fastify's trustProxy; false when no proxy is trusted. */
  trustProxy: string | false;
  /** Sessions expire this long after log-in (a fixed lifetime, not sliding). */
  sessionTtlHours: number;
  /** Where the built dashboard lives; served at / (see web/web.plugin.ts). */
  webDistDir: string;
  /** Custom domains not yet verified: days until such a claim expires, and how many an account may hold. */
  domainClaims: DomainClaimRules;
  /** Live timeline streams: caps on those open at once, and how often each re-checks its credentials. */
  streams: { perAccount: number; total: number; recheckSeconds: number };
  mail: MailConfig;
  accountTokenTtls: AccountTokenTtls;
  /** The worker's ACME order budget (the same variables), shown to operators. */
  acmeOrderLimits: AcmeOrderLimits;
  rateLimits: {
    loginFailuresPerEmailAndAddress: RateLimit;
    loginFailuresPerIp: RateLimit;
    signupsPerIp: RateLimit;
    signupsPerEmail: RateLimit;
    domainVerificationsPerAccount: RateLimit;
    passwordResetsPerIp: RateLimit;
    passwordResetsPerEmail: RateLimit;
    verificationMailsPerAccount: RateLimit;
  };
}

export function loadApiConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  const e = parseEnv(apiEnvSchema, env);
  const lockoutSeconds = e.LOGIN_LOCKOUT_MINUTES * 60;
  return {
    mode: e.PARLEY_MODE,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    host: e.API_HOST,
    port: e.API_PORT,
    metrics: listenAddressOf(e.API_METRICS_ADDRESS),
    platformZone: e.PLATFORM_ZONE,
    dnsResolver: e.DNS_RESOLVER || null,
    secretsKeyring: e.SECRETS_KEYRING,
    healthCheckTimeoutMs: e.HEALTH_CHECK_TIMEOUT_MS,
    databaseConnectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
    trustProxy: e.TRUST_PROXY === '' ? false : e.TRUST_PROXY,
    sessionTtlHours: e.SESSION_TTL_HOURS,
    webDistDir: e.WEB_DIST_DIR || DEFAULT_WEB_DIST_DIR,
    domainClaims: { pendingTtlDays: e.DOMAIN_PENDING_TTL_DAYS, pendingLimit: e.DOMAIN_PENDING_LIMIT },
    streams: { perAccount: e.STREAMS_PER_ACCOUNT, total: e.STREAMS_TOTAL, recheckSeconds: e.STREAM_RECHECK_SECONDS },
    mail: {
      smtpUrl: e.SMTP_URL || SANDBOX_SMTP_URL,
      from: e.MAIL_FROM || `Parley <no-reply@${e.PLATFORM_ZONE}>`,
      publicBaseUrl: (e.PUBLIC_BASE_URL || `http://${e.API_HOST.includes(':') ? `[${e.API_HOST}]` : e.API_HOST}:${e.API_PORT}`).replace(/\/+$/, ''),
    },
    accountTokenTtls: {
      emailVerificationMinutes: e.EMAIL_VERIFICATION_TTL_HOURS * 60,
      passwordResetMinutes: e.PASSWORD_RESET_TTL_MINUTES,
      loginChallengeMinutes: e.LOGIN_CHALLENGE_TTL_MINUTES,
    },
    acmeOrderLimits: acmeOrderLimitsOf(e),
    rateLimits: {
      loginFailuresPerEmailAndAddress: { max: e.LOGIN_MAX_FAILURES_PER_EMAIL_AND_ADDRESS, windowSeconds: lockoutSeconds },
      loginFailuresPerIp: { max: e.LOGIN_MAX_FAILURES_PER_IP, windowSeconds: lockoutSeconds },
      signupsPerIp: { max: e.SIGNUP_MAX_PER_IP_PER_HOUR, windowSeconds: 3600 },
      signupsPerEmail: { max: e.SIGNUP_MAX_PER_EMAIL_PER_HOUR, windowSeconds: 3600 },
      domainVerificationsPerAccount: { max: e.DOMAIN_VERIFY_MAX_PER_HOUR, windowSeconds: 3600 },
      passwordResetsPerIp: { max: e.PASSWORD_RESET_MAX_PER_IP_PER_HOUR, windowSeconds: 3600 },
      passwordResetsPerEmail: { max: e.PASSWORD_RESET_MAX_PER_EMAIL_PER_HOUR, windowSeconds: 3600 },
      verificationMailsPerAccount: { max: e.VERIFICATION_MAIL_MAX_PER_ACCOUNT_PER_HOUR, windowSeconds: 3600 },
    },
  };
}
