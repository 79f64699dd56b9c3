import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AttemptLimiter } from '../auth/attempt-limiter.js';
import { requireAuth } from '../auth/auth.plugin.js';
import { principalOf } from '../auth/principal.js';
import { noInput, problemResponses } from '../http/schemas.js';
import { accountTokenSchema } from '../auth/account-token-schema.js';
import { EmailVerificationService } from './email-verification.service.js';

export const emailVerificationRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const verification = new EmailVerificationService(app.prisma, app.audit, new AttemptLimiter(app.redis), app.mail, app.config);

  app.post(
    '/me/email/verify',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Confirm the account email with the token from the mailed link',
        description: 'Needs no session: the token, from the link mailed at sign-up, names the account. It works once, until it expires.',
        body: z.strictObject({ token: accountTokenSchema('token from the link in the mail') }),
        response: { 204: z.null().describe('Email verified'), ...problemResponses },
      },
    },
    async (request, reply) => {
      await verification.verify(request.body.token, request.ip);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/me/email/verification-mail',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['accounts'],
        summary: 'Mail a new verification link to the account email',
        description: 'Limited per account per hour; 409 when the email is verified already.',
        body: noInput,
        response: { 202: z.null().describe('Mail on its way'), ...problemResponses },
      },
    },
    async (request, reply) => {
      await verification.resend(principalOf(request), request.ip);
      return reply.code(202).send(null);
    },
  );
  done();
};
