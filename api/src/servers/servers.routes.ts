import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { DnsNameCheck } from './dns-name-check.js';
import { z } from 'zod';
import { SERVER_ACTIONS } from '../../../worker/src/contracts/provisioning.js';
import { HEALTH_STATUSES } from '../../../worker/src/contracts/health.js';
import { MAX_ADDRESSES_PER_KIND } from '../../../worker/src/contracts/contact-addresses.js';
import { COMPLIANCE_CATEGORIES } from '../../../worker/src/contracts/compliance.js';
import { requireAuth, stillAuthenticated } from '../auth/auth.plugin.js';
import { principalOf } from '../auth/principal.js';
import { compiledSuccessSerializer } from '../http/compiled-serializer.js';
import { expected, pageLimit, pageSchema, noInput, problemResponses, uuidParams } from '../http/schemas.js';
import { ServerService } from './servers.service.js';
import { OpenStreams } from './open-streams.js';
import { Wakeup } from './wakeup.js';

const portsSchema = z.object({
  starttls: z.number().int(),
  directTls: z.number().int().nullable(),
  federation: z.number().int().nullable(),
  upload: z.number().int().nullable(),
});
const serverSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  domain: z.string(),
  federation: z.boolean(),
  plan: z.string(),
  state: z.string().describe('ordered, allocating, dns, certificate, configuring, starting, bootstrapping, probing, ready, restoring, moving, stopped, failed, deprovisioning, deleted'),
  stateReason: z.string().nullable(),
  desiredState: z.string(),
  createdAt: z.iso.datetime(),
  readyAt: z.iso.datetime().nullable(),
  health: z
    .object({
      status: z.enum(HEALTH_STATUSES).describe('unknown (not observed yet), ok, degraded (XMPP answers, something else is wrong), down, needs_attention (repairs kept failing)'),
      issue: z.string().nullable().describe('The kind of the worst open incident, e.g. container_stopped, dns_record_missing'),
      message: z.string().nullable().describe('What is wrong and what Parley is doing, in plain words'),
      since: z.iso.datetime().nullable(),
      checkedAt: z.iso.datetime().nullable().describe('When Parley last looked'),
    })
    .describe('What Parley observed, not what it hopes'),
  connection: z.object({ jidDomain: z.string(), host: z.string(), ports: portsSchema }).nullable(),
});
const incidentSchema = z.object({
  id: z.uuid(),
  kind: z.string(),
  status: z.enum(['open', 'needs_attention', 'resolved']),
  openedAt: z.iso.datetime(),
  resolvedAt: z.iso.datetime().nullable(),
  repairAttempts: z.number().int(),
  lastError: z.string().nullable(),
});
const contactList = z.array(z.string({ error: expected('must be a list of addresses') }), { error: expected('must be a list of addresses') }).max(MAX_ADDRESSES_PER_KIND, `must hold at most ${MAX_ADDRESSES_PER_KIND} addresses`);
const contactsSchema = z
  .object({ admin: z.array(z.string()), abuse: z.array(z.string()), support: z.array(z.string()), security: z.array(z.string()) })
  .describe('XEP-0157 contact addresses the server publishes (xmpp:, mailto: or https: URIs); admin is always its admin account, abuse falls back to it');
const serverDetailSchema = serverSchema.extend({
  contacts: contactsSchema,
  calls: z
    .object({
      turnPort: z.number().int().describe("The relay's STUN/TURN port, UDP and TCP, on the server's host"),
      relayPorts: z.string().describe('The UDP ports calls are relayed on, FIRST-LAST'),
      tls: z
        .object({ host: z.string().describe('The relay host name its certificate is for'), port: z.number().int().describe('TCP port of TURN over TLS') })
        .nullable()
        .describe('TURN over TLS, for networks that let out nothing but TLS; null until the node serves a certificate for it'),
    })
    .nullable()
    .describe('Audio and video calls through the platform relay (XEP-0215 hands apps the credentials); null when not offered'),
  federationSeen: z
    .object({ outgoingAt: z.iso.datetime().nullable(), incomingAt: z.iso.datetime().nullable() })
    .describe('When Parley last saw a server-to-server connection up, to another server and from one (checked every few minutes); null: never seen'),
  compliance: z
    .object({
      passed: z.number().int(),
      total: z.number().int(),
      checkedAt: z.iso.datetime(),
      checks: z.array(
        z.object({
          id: z.string(),
          title: z.string(),
          spec: z.string().describe('The XEP (or RFC) checked, e.g. XEP-0280'),
          category: z.enum(COMPLIANCE_CATEGORIES),
          passed: z.boolean(),
          reason: z.string().describe('A stable code, e.g. ok, no_external_services, connection_failed'),
          detail: z.string(),
          checkedAt: z.iso.datetime(),
        }),
      ),
    })
    .nullable()
    .describe('XEP-0479 (Compliance Suites 2023) checks the platform ran against the server with a real client; null before the first run'),
  incidents: z.array(incidentSchema).describe('The most recent incidents, newest first'),
  srvRecords: z.array(z.object({ name: z.string(), value: z.string(), ttl: z.number() })),
  certificate: z
    .object({
      names: z.array(z.string()),
      notAfter: z.iso.datetime().nullable(),
      renewAfter: z.iso.datetime().nullable(),
      lastError: z.string().nullable(),
      blockedReason: z
        .string()
        .nullable()
        .describe('Set when renewal waits for the customer: the exact records to create, e.g. "_acme-challenge.chat.example.com CNAME <target>"; no order is made meanwhile.'),
      nextAttemptAt: z.iso.datetime().nullable().describe('When a renewal that failed (or is blocked) is tried again; null when not waiting.'),
      failureCount: z.number().int().describe('Renewals failed in a row; reset by a success.'),
    })
    .nullable(),
});

export const serverEventSchema = z.object({
  id: z.string().describe('Increasing; pass as `after` (or Last-Event-ID on the stream) to resume.'),
  step: z.string(),
  status: z.enum(['started', 'succeeded', 'failed', 'info']),
  message: z.string().describe('What happened; on a failure, the plain reason.'),
  attempt: z.number().int(),
  maxAttempts: z.number().int().nullable().describe('How many attempts the job has in all; null when not run by a job.'),
  willRetry: z.boolean().nullable().describe('On a failure: whether the worker tries again by itself; null otherwise.'),
  errorType: z.string().nullable().describe('On a failure: a stable type, e.g. permanent, container_not_found, xmpp_not_ready, acme_rejected, unknown.'),
  downtimeMs: z.number().int().nullable().describe('On a finished move to another machine: how long XMPP did not answer, in ms; null otherwise.'),
  at: z.iso.datetime(),
});

export const serverRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  // A stream never ends by itself: without this, closing the API (a deploy, SIGTERM) would wait
  // for every watching browser, up to the stream's hour.
  const openStreams = new OpenStreams({ perAccount: app.config.streams.perAccount, total: app.config.streams.total });
  app.metrics.countStreams(openStreams);
  app.addHook('preClose', (hookDone) => {
    openStreams.stopAll();
    hookDone();
  });
  const servers = new ServerService(app.prisma, app.sql, app.audit, app.jobs, app.secrets, app.config.platformZone, new DnsNameCheck(app.prisma, app.config.dnsResolver), app.log);

  app.post(
    '/servers',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['servers'],
        summary: 'Order a server on <name>.<platform zone> or on a verified domain of yours; provisioning starts at once (watch its events)',
        body: z.strictObject({
          name: z.string({ error: expected('must be a string') }).describe('Becomes the subdomain: "alice" → alice.<platform zone>.'),
          federation: z.boolean({ error: expected('must be true or false') }).default(false).describe('Let users talk to other XMPP servers.'),
          domainId: z
            .uuid({ error: expected('must be the id of one of your verified domains (GET /api/v1/domains)') })
            .optional()
            .describe('Serve a verified domain of yours instead of <name>.<platform zone>; the name is then only the server\'s label.'),
          importId: z
            .uuid({ error: expected('must be the id of an upload of yours (POST /api/v1/imports)') })
            .optional()
            .describe('Start the server with the users of an uploaded XEP-0227 file (moving from another provider); their JIDs move to the new domain.'),
          cloneFromBackupId: z
            .uuid({ error: expected('must be the id of a finished backup of one of your servers (GET /api/v1/servers/{serverId}/backups)') })
            .optional()
            .describe('Start the server as a clone: with all the data of this backup of another of your servers (users, passwords, contacts, archives, group chats), moved to the new domain. The other server is not touched.'),
          plan: z.string({ error: expected('must be a plan code') }).regex(/^[a-z0-9-]{1,32}$/, 'must be a plan code, such as "personal"').optional().describe('Defaults to your account\'s plan.'),
        }),
        response: { 202: serverSchema, ...problemResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await servers.order(principalOf(request), request.body, request.ip)),
  );

  app.get(
    '/servers',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['servers'],
        summary: 'Your servers, newest first (operators: everyone\'s)',
        querystring: z.strictObject({ cursor: z.uuid({ error: expected('must be the nextCursor of a previous page') }).optional(), limit: pageLimit }),
        response: { 200: pageSchema(serverSchema), ...problemResponses },
      },
      // The most requested answer and the largest: 50 servers per page by default.
      serializerCompiler: compiledSuccessSerializer,
    },
    (request) => servers.list(principalOf(request), request.query),
  );

  app.get(
    '/servers/:id',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['servers'],
        summary: 'A server: state, connection details, SRV records, certificate expiry',
        params: uuidParams,
        response: { 200: serverDetailSchema, ...problemResponses },
      },
    },
    (request) => servers.get(principalOf(request), request.params.id),
  );

  app.get(
    '/servers/:id/events',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['servers'],
        summary: 'The server\'s timeline after an event id, oldest first (live: /events/stream)',
        params: uuidParams,
        querystring: z.strictObject({
          after: z.string().regex(/^\d{1,18}$/, 'must be an event id').optional(),
          limit: pageLimit,
        }),
        response: { 200: z.object({ items: z.array(serverEventSchema) }), ...problemResponses },
      },
    },
    async (request) => ({ items: await servers.events(principalOf(request), request.params.id, BigInt(request.query.after ?? 0), request.query.limit) }),
  );

  app.post(
    '/servers/:id/actions',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['servers'],
        summary: 'Stop, start or restart a server',
        params: uuidParams,
        body: z.strictObject({ action: z.enum(SERVER_ACTIONS, { error: expected('must be "stop", "start" or "restart"') }) }),
        response: { 202: z.object({ accepted: z.boolean(), action: z.enum(SERVER_ACTIONS), requestId: z.uuid() }), ...problemResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await servers.act(principalOf(request), request.params.id, request.body.action, request.ip)),
  );

  app.post(
    '/servers/:id/calls/secret/rotate',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['servers'],
        summary: 'Replace the server\'s calls (TURN) secret, e.g. after a leak: old credentials stop working, apps fetch new ones',
        params: uuidParams,
        body: noInput,
        response: { 202: z.object({ version: z.number().int() }), ...problemResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await servers.rotateCallsSecret(principalOf(request), request.params.id, request.ip)),
  );

  app.post(
    '/servers/:id/compliance',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['servers'],
        summary: 'Run the XEP-0479 compliance checks of a ready server again (results in the server\'s detail)',
        params: uuidParams,
        body: noInput,
        response: { 202: z.object({ accepted: z.boolean() }), ...problemResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await servers.checkCompliance(principalOf(request), request.params.id, request.ip)),
  );

  app.put(
    '/servers/:id/contacts',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['servers'],
        summary: 'Set the contact addresses the server publishes (XEP-0157): abuse, support, security',
        params: uuidParams,
        body: z.strictObject({ abuse: contactList.optional(), support: contactList.optional(), security: contactList.optional() }),
        response: { 202: z.object({ contacts: contactsSchema, revision: z.number().int() }), ...problemResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await servers.setContacts(principalOf(request), request.params.id, request.body, request.ip)),
  );

  app.delete(
    '/servers/:id',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['servers'],
        summary: 'Delete a server and everything on it; confirm by typing its name',
        params: uuidParams,
        body: z.strictObject({ confirm: z.string({ error: expected('must be the server\'s name') }) }),
        response: { 202: z.object({ accepted: z.boolean() }), ...problemResponses },
      },
    },
    async (request, reply) => {
      await servers.remove(principalOf(request), request.params.id, request.body.confirm, request.ip);
      return reply.code(202).send({ accepted: true });
    },
  );

  app.post(
    '/servers/:id/credentials/reveal',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['servers'],
        summary: 'Show the admin JID and password, once per issuance',
        params: uuidParams,
        body: noInput,
        response: { 200: z.object({ jid: z.string(), password: z.string(), issuance: z.number().int() }), ...problemResponses },
      },
    },
    async (request, reply) => reply.header('cache-control', 'no-store').send(await servers.revealCredentials(principalOf(request), request.params.id, request.ip)),
  );

  app.post(
    '/servers/:id/credentials/reset',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['servers'],
        summary: 'Issue a new admin password (the old one stops working); reveal it afterwards',
        params: uuidParams,
        body: noInput,
        response: { 202: z.object({ issuance: z.number().int(), next: z.string() }), ...problemResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await servers.resetCredentials(principalOf(request), request.params.id, request.ip)),
  );

  app.get(
    '/servers/:id/events/stream',
    {
      onRequest: requireAuth,
      schema: {
        // "streaming": the response never ends, so the generic API tests leave it out.
        tags: ['servers', 'streaming'],
        summary:
          'The timeline live, as Server-Sent Events ("timeline" and "state" events, pushed as they happen); at most STREAMS_PER_ACCOUNT open per account (429 beyond); ends with an "error" event once the session or token is no longer valid',
        params: uuidParams,
        querystring: z.strictObject({ after: z.string().regex(/^\d{1,18}$/, 'must be an event id').optional() }),
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const id = request.params.id;
      const lastEventId = request.headers['last-event-id'];
      let after = BigInt(typeof lastEventId === 'string' && /^\d{1,18}$/.test(lastEventId) ? lastEventId : (request.query.after ?? '0'));
      let lastState = await servers.state(principal, id);
      let closed = false;
      const wakeup = new Wakeup();
      const stop = () => {
        closed = true;
        wakeup.wake();
      };
      const close = openStreams.open(principal.accountId, stop);

      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      const send = (event: string, data: unknown, eventId?: string) =>
        raw.write(`${eventId ? `id: ${eventId}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      send('state', lastState);

      // Pushed, not polled: the database notifies this server's changes and the stream reads them
      // then. Between changes it wakes every STREAM_RECHECK_SECONDS to check that its session or
      // token still holds (and to keep proxies from closing an idle connection). Bounded to an
      // hour, after which the browser's EventSource reconnects with Last-Event-ID.
      const deadline = Date.now() + 3_600_000;
      request.raw.on('close', stop);
      const unsubscribe = app.serverChanges.subscribe(id, () => wakeup.wake());
      const recheckMs = app.config.streams.recheckSeconds * 1_000;
      let nextRecheck = Date.now() + recheckMs;
      while (!closed && Date.now() < deadline) {
        try {
          if (Date.now() >= nextRecheck) {
            if (!(await stillAuthenticated(app, request))) {
              send('error', { detail: 'Your session ended or your API token was revoked; log in again to keep watching.' });
              break;
            }
            nextRecheck = Date.now() + recheckMs;
            raw.write(': keep-alive\n\n');
          }
          const events = await servers.events(principal, id, after, 100);
          for (const event of events) send('timeline', event, event.id);
          if (events.length > 0) after = BigInt(events.at(-1)?.id ?? after);
          const state = await servers.state(principal, id);
          if (state.state !== lastState.state || state.stateReason !== lastState.stateReason) send('state', state);
          lastState = state;
          // A full page may have more behind it: read again at once.
          if (events.length === 100) continue;
        } catch (error) {
          send('error', { detail: error instanceof Error && error.name === 'HttpProblem' ? error.message : 'The timeline is unavailable; reconnect shortly.' });
          break;
        }
        await wakeup.next(Math.max(0, nextRecheck - Date.now()));
      }
      unsubscribe();
      close();
      raw.end();
    },
  );

  done();
};
