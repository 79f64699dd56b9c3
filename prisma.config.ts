import { defineConfig } from 'prisma/config';

// Prisma CLI configuration (prisma generate / prisma migrate deploy where the native engine is
// available). The URL is optional here: `generate` needs no database.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env['DATABASE_URL'] },
});
