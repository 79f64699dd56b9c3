import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticatedSchema, emailSchema } from '../accounts/accounts.schemas.js';
import { AttemptLimiter } from '../auth/attempt-limiter.js';
import { requireAuth } from '../auth/auth.plugin.js';
import { PASSWORD_MAX_LENGTH } from '../auth/passwords.js';
import { principalOf } from '../auth/principal.js';
import { clearSessionCookie, setSessionCookie } from '../auth/session-cookie.js';
import { expected, problemResponses } from '../http/schemas.js';
import { SessionService } from './sessions.service.js';

export const sessionRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const sessions = new SessionService(app.prisma, app.audit, new AttemptLimiter(app.redis), app.config);

  app.post(
    '/sessions',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Log in: sets the session cookie and returns the CSRF token',
        description: 'Failed attempts are limited per email and per address; past the limit the answer is 429 with Retry-After, even for the right password.',
        body: z.strictObject({
          email: emailSchema,
          // Not the sign-up rule: passwords set before a rule change must still log in.
          password: z.string({ error: expected('must be a string') }).min(1, 'is required').max(PASSWORD_MAX_LENGTH, `must be at most ${PASSWORD_MAX_LENGTH} characters`),
        }),
        response: { 201: authenticatedSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const issued = await sessions.logIn(request.body, { ip: request.ip, userAgent: request.headers['user-agent'] });
      setSessionCookie(reply, app.config, issued.cookieToken, issued.expiresAt);
      return reply.code(201).send(issued.body);
    },
  );

  app.delete(
    '/sessions/current',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['sessions'],
        summary: 'Log out: ends the session of the cookie',
        response: { 204: z.null().describe('Logged out'), ...problemResponses },
      },
    },
    async (request, reply) => {
      await sessions.logOut(principalOf(request), request.ip);
      clearSessionCookie(reply, app.config);
      return reply.code(204).send(null);
    },
  );
  done();
};
