import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireAuth } from '../auth/auth.plugin.js';
import { principalOf } from '../auth/principal.js';
import { expected, noInput, problemResponses } from '../http/schemas.js';
import { ExportService } from './exports.service.js';
import { ImportService } from './imports.service.js';

/** The largest XEP-0227 file an upload takes. */
const IMPORT_BODY_LIMIT = 64 * 1024 * 1024;
const XML_TYPES = ['application/xml', 'text/xml'];

const exportSchema = z.object({
  id: z.uuid(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed']).describe('queued also while a failed attempt waits for its retry (see error)'),
  requestedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().nullable(),
  expiresAt: z.iso.datetime().describe('After this the export is deleted; make a new one'),
  sizeBytes: z.number().int().nullable().describe('Bytes of the XML document'),
  userCount: z.number().int().nullable().describe("Users in the document (Parley's admin account is left out)"),
  attempts: z.number().int(),
  error: z.string().nullable().describe('Why the last attempt failed; null when it did not'),
  errorType: z.string().nullable(),
});

const serverParams = z.strictObject({ serverId: z.uuid({ error: expected('must be a server id (a UUID)') }) });
const exportParams = serverParams.extend({ id: z.uuid({ error: expected('must be an export id (a UUID)') }) });

export const exportRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const exports = new ExportService(app.prisma, app.audit, app.jobs, app.secrets, app.log);
  const imports = new ImportService(app.prisma, app.audit, app.secrets, app.log);
  // Only this plugin's routes take XML; everywhere else it stays a 415.
  app.addContentTypeParser(XML_TYPES, { parseAs: 'string', bodyLimit: IMPORT_BODY_LIMIT }, (_request, body, parsed) => parsed(null, body));

  app.get(
    '/servers/:serverId/exports',
    {
      onRequest: requireAuth,
      schema: { tags: ['exports'], summary: "A server's XEP-0227 exports, newest first", params: serverParams, response: { 200: z.object({ items: z.array(exportSchema) }), ...problemResponses } },
    },
    async (request) => exports.list(principalOf(request), request.params.serverId),
  );

  app.post(
    '/servers/:serverId/exports',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['exports'],
        summary: "Export the server's users (accounts, rosters, vCards, PEP data, archives) as one XEP-0227 document; while one is under way, that one is returned",
        params: serverParams,
        body: noInput,
        response: { 202: exportSchema, ...problemResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await exports.request(principalOf(request), request.params.serverId, request.ip)),
  );

  app.get(
    '/servers/:serverId/exports/:id/download',
    {
      onRequest: requireAuth,
      schema: {
        tags: ['exports'],
        summary: "The export as a XEP-0227 XML file, to the server's owner only (it holds password data and messages; 403 to operators); 409 while it is not ready, 410 once expired",
        params: exportParams,
        produces: ['application/xml'],
        response: { 200: z.string().describe("<server-data xmlns='urn:xmpp:pie:0'> with one <host>"), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { filename, document } = await exports.download(principalOf(request), request.params.serverId, request.params.id);
      return reply.type('application/xml; charset=utf-8').header('content-disposition', `attachment; filename="${filename}"`).send(document);
    },
  );

  app.post(
    '/imports',
    {
      onRequest: requireAuth,
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        tags: ['exports'],
        summary: 'Upload a XEP-0227 file (Content-Type: application/xml) to order a server with its users (importId); kept 24 hours',
        consumes: [...XML_TYPES, 'application/json'],
        body: z.string({ error: expected('must be a XEP-0227 XML document (send Content-Type: application/xml)') }).describe("A XEP-0227 document: <server-data xmlns='urn:xmpp:pie:0'> with one <host>"),
        response: { 201: z.object({ id: z.uuid(), host: z.string(), userCount: z.number().int(), expiresAt: z.iso.datetime() }), ...problemResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await imports.upload(principalOf(request), request.body, request.ip)),
  );

  done();
};
