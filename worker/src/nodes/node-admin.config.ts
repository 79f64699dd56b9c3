import { z } from 'zod';
import { optionalUnlessBlank, parseEnv } from '../contracts/env-fields.js';

const nodeAdminEnvSchema = z.object({
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  // An operator's personal API token (prl_…): a drain goes through the API, which audits it.
  PARLEY_API_TOKEN: optionalUnlessBlank(z.string().startsWith('prl_', 'must be a personal API token (prl_…)')),
  NODE_JOIN_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(60_000),
});

/** What `./parley node` needs beyond the worker's configuration: the API, for drains. */
export interface NodeAdminConfig {
  apiUrl: string;
  apiToken: string | undefined;
  joinTimeoutMs: number;
}

export function loadNodeAdminConfig(env: Record<string, string | undefined> = process.env): NodeAdminConfig {
  const e = parseEnv(nodeAdminEnvSchema, env);
  return { apiUrl: `http://${e.API_HOST.includes(':') ? `[${e.API_HOST}]` : e.API_HOST}:${e.API_PORT}`, apiToken: e.PARLEY_API_TOKEN, joinTimeoutMs: e.NODE_JOIN_TIMEOUT_MS };
}
