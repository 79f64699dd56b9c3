import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AttemptLimiter } from '../auth/attempt-limiter.js';
import { requireAuth } from '../auth/auth.plugin.js';
import { enteredPasswordSchema } from '../auth/passwords.js';
import { principalOf } from '../auth/principal.js';
import { problemResponses } from '../http/schemas.js';
import { secondFactorCodeSchema, totpCodeSchema } from './two-factor.schemas.js';
import { TwoFactorService } from './two-factor.service.js';

export const twoFactorRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const twoFactor = new TwoFactorService(app.prisma, app.audit, new AttemptLimiter(app.redis), app.secrets, app.config);

  app.post(
    '/me/two-factor/enrolment',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['accounts'],
        summary: 'Start two-factor enrolment: a new secret for your authenticator app',
        description: 'Needs your password. Add the secret (or scan the otpauth URI as a QR code) to the app, then confirm with a code it shows.',
        body: z.strictObject({ password: enteredPasswordSchema }),
        response: {
          201: z.object({
            secret: z.string().describe('Base32 secret, to type into the app'),
            otpauthUri: z.string().describe('otpauth://totp/... for a QR code'),
          }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => reply.code(201).send(await twoFactor.start(principalOf(request), request.body.password, request.ip)),
  );

  app.post(
    '/me/two-factor/enrolment/confirm',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['accounts'],
        summary: 'Turn two-factor log-in on with a code from the app; returns the recovery codes once',
        body: z.strictObject({ code: totpCodeSchema }),
        response: {
          200: z.object({ recoveryCodes: z.array(z.string()).describe('Each logs in once instead of a code. Shown only now: store them.') }),
          ...problemResponses,
        },
      },
    },
    async (request) => ({ recoveryCodes: await twoFactor.confirm(principalOf(request), request.body.code, request.ip) }),
  );

  app.post(
    '/me/two-factor/disable',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['accounts'],
        summary: 'Turn two-factor log-in off: needs your password and a code (or a recovery code)',
        body: z.strictObject({ password: enteredPasswordSchema, code: secondFactorCodeSchema }),
        response: { 204: z.null().describe('Two-factor log-in is off'), ...problemResponses },
      },
    },
    async (request, reply) => {
      await twoFactor.disable(principalOf(request), request.body, request.ip);
      return reply.code(204).send(null);
    },
  );
  done();
};
