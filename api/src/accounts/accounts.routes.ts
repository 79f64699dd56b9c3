import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AttemptLimiter } from '../auth/attempt-limiter.js';
import { requireAuth } from '../auth/auth.plugin.js';
import { SESSION_COOKIE, csrfTokenFor } from '../auth/credentials.js';
import { enteredPasswordSchema, passwordSchema } from '../auth/passwords.js';
import { principalOf } from '../auth/principal.js';
import { setSessionCookie } from '../auth/session-cookie.js';
import { expected, problemResponses } from '../http/schemas.js';
import { SessionService } from '../sessions/sessions.service.js';
import { EmailVerificationService } from '../email-verification/email-verification.service.js';
import { authenticatedSchema, emailSchema } from './accounts.schemas.js';
import { AccountService } from './accounts.service.js';

export const accountRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const limiter = new AttemptLimiter(app.redis);
  const sessions = new SessionService(app.prisma, app.audit, limiter, app.config);
  const verification = new EmailVerificationService(app.prisma, app.audit, limiter, app.mail, app.config);
  const accounts = new AccountService(app.prisma, app.audit, sessions, limiter, verification, app.config);

  app.post(
    '/accounts',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Sign up: creates the account and logs it in',
        body: z.strictObject({
          email: emailSchema,
          password: passwordSchema,
          plan: z
            .string({ error: expected('must be a plan code') })
            .regex(/^[a-z0-9-]{1,32}$/, 'must be a plan code such as "personal"')
            .optional()
            .describe('Plan code; "personal" when left out.'),
        }),
        response: { 201: authenticatedSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const issued = await accounts.signUp(request.body, { ip: request.ip, userAgent: request.headers['user-agent'] });
      setSessionCookie(reply, app.config, issued.cookieToken, issued.expiresAt);
      return reply.code(201).send(issued.body);
    },
  );

  app.get(
    '/me',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['accounts'],
        summary: 'The account you are authenticated as, and the CSRF token of your session',
        response: { 200: authenticatedSchema, ...problemResponses },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const cookie = request.cookies[SESSION_COOKIE];
      return {
        account: await accounts.get(principal),
        csrfToken: principal.session && cookie ? csrfTokenFor(cookie) : null,
        sessionExpiresAt: principal.session?.expiresAt.toISOString() ?? null,
      };
    },
  );

  app.post(
    '/me/password',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['accounts'],
        summary: 'Change your password; every other session is logged out',
        body: z
          .strictObject({
            currentPassword: enteredPasswordSchema,
            newPassword: passwordSchema,
          })
          .refine((body) => body.newPassword !== body.currentPassword, { path: ['newPassword'], message: 'must differ from the current password' }),
        response: { 204: z.null().describe('Password changed'), ...problemResponses },
      },
    },
    async (request, reply) => {
      await accounts.changePassword(principalOf(request), request.body, request.ip);
      return reply.code(204).send(null);
    },
  );
  done();
};
