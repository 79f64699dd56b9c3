import fp from 'fastify-plugin';
import { createPrismaClient, type PrismaClient } from '../../../prisma/client.js';

declare module 'fastify' {
  interface FastifyInstance {
    prisma: PrismaClient;
  }
}

export interface DbPluginOptions {
  databaseUrl: string;
  /** A client the caller owns (and disconnects); without one the app opens and closes its own. */
  prisma?: PrismaClient | undefined;
}

export const dbPlugin = fp<DbPluginOptions>(
  (app, options, done) => {
    const prisma = options.prisma ?? createPrismaClient(options.databaseUrl);
    app.decorate('prisma', prisma);
    if (!options.prisma) app.addHook('onClose', () => prisma.$disconnect());
    done();
  },
  { name: 'parley-db', fastify: '5.x' },
);
