import type { FastifyRequest } from 'fastify';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticatedSchema, emailSchema } from '../accounts/accounts.schemas.js';
import { AttemptLimiter } from '../auth/attempt-limiter.js';
import { requireAuth } from '../auth/auth.plugin.js';
import { enteredPasswordSchema } from '../auth/passwords.js';
import { principalOf } from '../auth/principal.js';
import { clearSessionCookie, setSessionCookie } from '../auth/session-cookie.js';
import { problemResponses } from '../http/schemas.js';
import { TwoFactorLogin } from '../two-factor/two-factor-login.js';
import { secondFactorCodeSchema } from '../two-factor/two-factor.schemas.js';
import { accountTokenSchema } from '../auth/account-token-schema.js';
import { SessionService } from './sessions.service.js';

const challengeSchema = z.object({
  twoFactorRequired: z.literal(true),
  challenge: z.string().describe('Send it with a code to POST /api/v1/sessions/two-factor'),
  expiresAt: z.iso.datetime(),
});

const clientOf = (request: FastifyRequest) => ({ ip: request.ip, userAgent: request.headers['user-agent'] });

export const sessionRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const limiter = new AttemptLimiter(app.redis);
  const sessions = new SessionService(app.prisma, app.audit, limiter, app.config);
  const twoFactor = new TwoFactorLogin(app.prisma, limiter, app.secrets, sessions, app.config);

  app.post(
    '/sessions',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Log in: sets the session cookie and returns the CSRF token',
        description:
          'Failed attempts are limited per email and per address; past the limit the answer is 429 with Retry-After, even for the right password. ' +
          'With two-factor log-in on, a right password answers 202 with a challenge: finish with POST /api/v1/sessions/two-factor.',
        body: z.strictObject({
          email: emailSchema,
            password: enteredPasswordSchema,
        }),
        response: { 201: authenticatedSchema, 202: challengeSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const result = await sessions.logIn(request.body, clientOf(request));
      if ('challenge' in result) return reply.code(202).send(result);
      setSessionCookie(reply, app.config, result.cookieToken, result.expiresAt);
      return reply.code(201).send(result.body);
    },
  );

  app.post(
    '/sessions/two-factor',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Log in, second step: the challenge and a code of your authenticator app (or a recovery code)',
        description: 'Wrong codes are limited per account; a recovery code works once.',
        body: z.strictObject({ challenge: accountTokenSchema('challenge from POST /api/v1/sessions'), code: secondFactorCodeSchema }),
        response: { 201: authenticatedSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const issued = await twoFactor.finish(request.body, clientOf(request));
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
