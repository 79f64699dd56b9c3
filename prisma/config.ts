import { z } from 'zod';

const envSchema = z.object({
  DATABASE_URL: z.url({
    protocol: /^postgres(ql)?$/,
    error: (issue) =>
      issue.input === undefined
        ? 'DATABASE_URL is not set (e.g. postgresql://parley:parley@127.0.0.1:5432/parley)'
        : 'DATABASE_URL must be a postgresql:// URL (e.g. postgresql://parley:parley@127.0.0.1:5432/parley)',
  }),
});

export interface DatabaseConfig {
  databaseUrl: string;
}

/** Reads the database settings of the prisma/ tools (migrate, author-migration) once. */
export function loadDatabaseConfig(env: NodeJS.ProcessEnv = process.env): DatabaseConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`Invalid environment: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
  }
  return { databaseUrl: parsed.data.DATABASE_URL };
}
