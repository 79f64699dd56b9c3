import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireAuth } from '../auth/auth.plugin.js';
import { principalOf } from '../auth/principal.js';
import { AttemptLimiter } from '../auth/attempt-limiter.js';
import { expected, pageLimit, pageSchema, noInput, problemResponses, uuidParams } from '../http/schemas.js';
import { RECORD_PURPOSES, RECORD_TYPES } from './domain-records.js';
import { DomainService } from './domains.service.js';

const checkSchema = z.object({
  expected: z.string(),
  found: z.array(z.string()).describe('What the lookup returned, in zone-file form.'),
  ok: z.boolean(),
  message: z.string().describe('What was found and what to fix.'),
});

const recordSchema = z.object({
  name: z.string(),
  type: z.enum(RECORD_TYPES),
  value: z.string().nullable().describe('What to enter at your DNS host; null for an SRV record until a server on this domain has its port.'),
  purpose: z.enum(RECORD_PURPOSES),
  required: z.boolean().describe('Required records decide verification; the others are informational.'),
  description: z.string(),
  check: checkSchema.nullable().describe('The last verification of this record; null until it is checked.'),
});

const domainSchema = z.object({
  id: z.uuid(),
  accountId: z.uuid(),
  name: z.string(),
  status: z
    .enum(['pending', 'verified', 'failed', 'expired'])
    .describe(
      'pending: added, not verified yet; several accounts may claim a name, and the first to verify it gets it. failed: was verified, but a later check found required records missing or wrong. expired: not verified before expiresAt, so it reserves nothing and cannot be verified; add the domain again.',
    ),
  statusDetail: z.string().describe('What the status means and what to do next.'),
  expiresAt: z.iso.datetime().nullable().describe('When this claim expires unless verified first (past for an expired one); null once verified.'),
  verifiedAt: z.iso.datetime().nullable(),
  lastCheckedAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
  records: z.array(recordSchema),
});

export const domainRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const domains = new DomainService(
    app.prisma,
    app.audit,
    app.config.platformZone,
    app.config.dnsResolver,
    app.config.domainClaims,
    new AttemptLimiter(app.redis),
    app.config.rateLimits.domainVerificationsPerAccount,
  );

  app.post(
    '/domains',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['domains'],
        summary: 'Add a domain of your own; the answer lists the DNS records to create before verifying it; unverified, it expires at expiresAt',
        body: z.strictObject({
          name: z
            .string({ error: expected('must be a domain name, such as chat.example.com') })
            .max(254, 'must be at most 253 characters')
            .describe('International names in their xn-- (punycode) form.'),
        }),
        response: { 201: domainSchema, ...problemResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await domains.create(principalOf(request), request.body, request.ip)),
  );

  app.get(
    '/domains',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['domains'],
        summary: 'Your domains, newest first (operators: everyone\'s)',
        querystring: z.strictObject({ cursor: z.uuid({ error: expected('must be the nextCursor of a previous page') }).optional(), limit: pageLimit }),
        response: { 200: pageSchema(domainSchema), ...problemResponses },
      },
    },
    (request) => domains.list(principalOf(request), request.query),
  );

  app.get(
    '/domains/:id',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['domains'],
        summary: 'A domain: its status, the records to create and the last check of each',
        params: uuidParams,
        response: { 200: domainSchema, ...problemResponses },
      },
    },
    (request) => domains.get(principalOf(request), request.params.id),
  );

  app.post(
    '/domains/:id/verify',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['domains'],
        summary: 'Look the records up in DNS now; verified once the ownership TXT and the _acme-challenge CNAMEs are right; the first account to verify a name gets it',
        params: uuidParams,
        body: noInput,
        response: { 200: domainSchema, ...problemResponses },
      },
    },
    (request) => domains.verify(principalOf(request), request.params.id, request.ip),
  );

  app.delete(
    '/domains/:id',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['domains'],
        summary: 'Remove a domain; refused while a server runs on it',
        params: uuidParams,
        response: { 204: z.null().describe('Removed'), ...problemResponses },
      },
    },
    async (request, reply) => {
      await domains.remove(principalOf(request), request.params.id, request.ip);
      return reply.code(204).send(null);
    },
  );
  done();
};
