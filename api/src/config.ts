import { z } from 'zod';
import { envFields, parseEnv } from '../../worker/src/contracts/env-fields.js';

const apiEnvSchema = z.object({
  PARLEY_MODE: envFields.mode,
  LOG_LEVEL: envFields.logLevel,
  DATABASE_URL: envFields.databaseUrl,
  REDIS_URL: envFields.redisUrl,
  API_HOST: z.union([z.ipv4(), z.ipv6(), z.literal('localhost')], { error: 'must be an IP address to listen on' }).default('127.0.0.1'),
  API_PORT: envFields.port.default(8080),
  PLATFORM_ZONE: envFields.platformZone,
  SECRETS_KEYRING: envFields.secretsKeyring,
  HEALTH_CHECK_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(1_500),
});

export interface ApiConfig {
  mode: 'sandbox' | 'production';
  logLevel: string;
  databaseUrl: string;
  redisUrl: string;
  host: string;
  port: number;
  platformZone: string;
  secretsKeyring: string;
  healthCheckTimeoutMs: number;
}

export function loadApiConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  const e = parseEnv(apiEnvSchema, env);
  return {
    mode: e.PARLEY_MODE,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    host: e.API_HOST,
    port: e.API_PORT,
    platformZone: e.PLATFORM_ZONE,
    secretsKeyring: e.SECRETS_KEYRING,
    healthCheckTimeoutMs: e.HEALTH_CHECK_TIMEOUT_MS,
  };
}
