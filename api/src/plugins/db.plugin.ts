import fp from 'fastify-plugin';
import { createDatabase, type Database, type PrismaClient, type SqlReader } from '../../../prisma/client.js';

declare module 'fastify' {
  interface FastifyInstance {
    prisma: PrismaClient;
    /** Plain SQL for the reads on every request (see SqlReader); everything else goes through prisma. */
    sql: SqlReader;
  }
}

export interface DbPluginOptions {
  databaseUrl: string;
  /** How long a request waits for a database connection before it answers 503. */
  connectTimeoutMs: number;
  /** A database the caller owns (and closes); without one the app opens and closes its own. */
  database?: Database | undefined;
}

export const dbPlugin = fp<DbPluginOptions>(
  (app, options, done) => {
    const database = options.database ?? createDatabase(options.databaseUrl, { connectTimeoutMs: options.connectTimeoutMs });
    app.decorate('prisma', database.prisma);
    app.decorate('sql', database.sql);
    if (!options.database) app.addHook('onClose', () => database.close());
    done();
  },
  { name: 'parley-db', fastify: '5.x' },
);
