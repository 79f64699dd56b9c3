import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { emailSchema } from '../accounts/accounts.schemas.js';
import { accountTokenSchema } from '../auth/account-token-schema.js';
import { AttemptLimiter } from '../auth/attempt-limiter.js';
import { passwordSchema } from '../auth/passwords.js';
import { problemResponses } from '../http/schemas.js';
import { PasswordResetService } from './password-reset.service.js';

export const passwordResetRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const resets = new PasswordResetService(app.prisma, app.audit, new AttemptLimiter(app.redis), app.mail, app.config);

  app.post(
    '/password-reset',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Mail a password reset link to the account with this email',
        description:
          'Always 202, whether or not an account has this email, so the answer tells nobody who has one. Limited per client address and per email per hour.',
        body: z.strictObject({ email: emailSchema }),
        response: { 202: z.null().describe('If an account has this email, a link is on its way'), ...problemResponses },
      },
    },
    async (request, reply) => {
      await resets.request(request.body.email, request.ip);
      return reply.code(202).send(null);
    },
  );

  app.post(
    '/password-reset/confirm',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Set a new password with the token from the mailed link',
        description: 'The token works once, until it expires. Every session and API token of the account ends; log in with the new password.',
        body: z.strictObject({ token: accountTokenSchema('token from the link in the mail'), newPassword: passwordSchema }),
        response: { 204: z.null().describe('Password set'), ...problemResponses },
      },
    },
    async (request, reply) => {
      await resets.confirm(request.body, request.ip);
      return reply.code(204).send(null);
    },
  );
  done();
};
