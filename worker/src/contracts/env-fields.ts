import { z } from 'zod';

/** Thrown when the environment is unusable; the message names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once; never echoes values, since several of them are secrets. */
export function parseEnv<T extends z.ZodType>(schema: T, env: Record<string, string | undefined>): z.infer<T> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    // zod 4 issues do not carry the input: look at the variable itself.
    const unset = env[String(issue.path[0])] === undefined;
    const message = issue.code === 'invalid_type' && unset ? 'is required but not set' : issue.message;
    return `${name}: ${message}`;
  });
  throw new ConfigError(problems);
}

const urlWithProtocols = (protocols: string[], example: string) =>
  z
    .string({ error: 'is required but not set' })
    .refine((value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, `must be a ${protocols.map((p) => `${p}//`).join(' or ')} URL, for example ${example}`);

/**
 * An optional setting for which an empty value means unset: Compose files pass `${NAME:-}` (they
 * cannot leave a variable out), so `NAME=` must not fail a check meant for a real value.
 */
export const optionalUnlessBlank = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

export const envFields = {
  mode: z.enum(['sandbox', 'production'], { error: 'must be "sandbox" or "production"' }).default('sandbox'),
  databaseUrl: urlWithProtocols(['postgresql:', 'postgres:'], 'postgresql://parley:secret@127.0.0.1:5432/parley'),
  redisUrl: urlWithProtocols(['redis:', 'rediss:'], 'redis://127.0.0.1:6379'),
  httpUrl: (example: string) => urlWithProtocols(['http:', 'https:'], example),
  smtpUrl: urlWithProtocols(['smtp:', 'smtps:'], 'smtp://user:password@smtp.example.com:587'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  port: z.coerce
    .number({ error: 'must be a port number' })
    .int('must be a whole number')
    .min(1, 'must be a port from 1 to 65535')
    .max(65535, 'must be a port from 1 to 65535'),
  platformZone: z
    .string({ error: 'is required but not set' })
    .transform((value) => value.replace(/\.$/, '').toLowerCase())
    .pipe(
      z
        .string()
        .regex(/^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a DNS zone name such as parley.test'),
    ),
  hostPort: z
    .string({ error: 'is required but not set' })
    .regex(/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):\d{1,5}$/, 'must be ADDRESS:PORT, for example 127.0.0.1:5353'),
  /** Where an operators' listener (metrics) binds, ADDRESS:PORT; empty: none. */
  metricsAddress: z.union([
    z.literal(''),
    z
      .string()
      .regex(/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):\d{1,5}$/, 'must be ADDRESS:PORT (an IP address, [brackets] around IPv6), or empty for none')
      .refine((value) => Number(value.slice(value.lastIndexOf(':') + 1)) <= 65535 && !value.endsWith(':0'), 'must have a port from 1 to 65535'),
  ]),
  /** Any restic repository: a local directory in the sandbox, `s3:…` or `sftp:…` in production. */
  backupRepository: z.string({ error: 'is required but not set' }).min(1, 'must not be empty'),
  /** Without it no backup can be read back: keep a copy outside the platform. */
  backupPassword: z.string({ error: 'is required but not set' }).min(16, 'must be at least 16 characters'),
  /** Where child processes (restic, pg_dump) are looked up. */
  childPath: z.string().default('/usr/local/bin:/usr/bin:/bin'),
  secretsKeyring: z
    .string({ error: 'is required but not set' })
    .refine((value) => value.split(',').every((entry) => /^\d+:[A-Za-z0-9+/]{43}=$/.test(entry.trim())), {
      message: 'must be VERSION:BASE64KEY[,VERSION:BASE64KEY...] with 32-byte keys; the highest version encrypts',
    }),
};

/** ADDRESS:PORT (brackets around IPv6) as a listener's host and port; null for the empty value. */
export function listenAddressOf(value: string): { host: string; port: number } | null {
  if (value === '') return null;
  const colon = value.lastIndexOf(':');
  return { host: value.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(value.slice(colon + 1)) };
}
