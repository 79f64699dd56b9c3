import type { FastifyPluginCallback } from 'fastify';
import { accountRoutes } from './accounts/accounts.routes.js';
import { auditRoutes } from './audit/audit.routes.js';
import { authPlugin } from './auth/auth.plugin.js';
import { sessionRoutes } from './sessions/sessions.routes.js';
import { emailVerificationRoutes } from './email-verification/email-verification.routes.js';
import { passwordResetRoutes } from './password-reset/password-reset.routes.js';
import { twoFactorRoutes } from './two-factor/two-factor.routes.js';
import { tokenRoutes } from './tokens/tokens.routes.js';
import { serverRoutes } from './servers/servers.routes.js';
import { backupRoutes } from './backups/backups.routes.js';
import { exportRoutes } from './exports/exports.routes.js';
import { deletedServerRoutes } from './servers/deleted-servers.routes.js';
import { domainRoutes } from './domains/domains.routes.js';
import { xmppUserRoutes } from './xmpp-users/xmpp-users.routes.js';
import { inviteRoutes } from './invites/invites.routes.js';
import { planRoutes } from './plans/plans.routes.js';
import { operatorHealthRoutes } from './health/operator-health.routes.js';
import { nodeRoutes } from './nodes/nodes.routes.js';
import { usageRoutes } from './usage/usage.routes.js';
import { operatorConsoleRoutes } from './operator/operator-console.routes.js';
import { statusRoutes } from './status/status.routes.js';

export const API_V1_PREFIX = '/api/v1';

/**
 * Everything under /api/v1. The auth plugin is registered first so its onRequest hook (principal,
 * CSRF) covers every route module after it. Add a feature by registering its routes module here.
 */
export const v1Routes: FastifyPluginCallback = (app, _options, done) => {
  app.register(authPlugin);
  app.register(planRoutes);
  app.register(accountRoutes);
  app.register(sessionRoutes);
  app.register(emailVerificationRoutes);
  app.register(passwordResetRoutes);
  app.register(twoFactorRoutes);
  app.register(tokenRoutes);
  app.register(auditRoutes);
  app.register(serverRoutes);
  app.register(backupRoutes);
  app.register(exportRoutes);
  app.register(usageRoutes);
  app.register(deletedServerRoutes);
  app.register(domainRoutes);
  app.register(xmppUserRoutes);
  app.register(inviteRoutes);
  app.register(operatorHealthRoutes);
  app.register(nodeRoutes);
  app.register(operatorConsoleRoutes);
  app.register(statusRoutes);
  done();
};
