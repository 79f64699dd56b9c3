import fp from 'fastify-plugin';
import { checkReadiness, type ReadinessProbes, type ReadinessReport } from './readiness.js';
import { createReadinessProbes } from './readiness-probes.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every dependency checked now, with the details: for operators, never the public. */
    readiness(): Promise<ReadinessReport>;
  }
}

export interface ReadinessPluginOptions {
  /** Tests pass their own; by default the app's database and Redis clients. */
  probes?: ReadinessProbes | undefined;
  timeoutMs: number;
}

export const readinessPlugin = fp<ReadinessPluginOptions>(
  (app, options, done) => {
    const probes = options.probes ?? createReadinessProbes(app.prisma, app.redis);
    app.decorate('readiness', () => checkReadiness(probes, options.timeoutMs));
    done();
  },
  { name: 'parley-readiness', fastify: '5.x', dependencies: ['parley-db', 'parley-redis'] },
);
