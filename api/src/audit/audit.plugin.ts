import fp from 'fastify-plugin';
import { AuditService } from './audit.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    audit: AuditService;
  }
}

/** One AuditService for every route module: `app.audit.record(tx, actorOf(principal, request.ip), {...})`. */
export const auditPlugin = fp(
  (app, _options, done) => {
    app.decorate('audit', new AuditService(app.prisma));
    done();
  },
  { name: 'parley-audit', fastify: '5.x', dependencies: ['parley-db'] },
);
