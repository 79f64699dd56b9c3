import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { SECURITY_SCHEMES } from '../auth/auth.plugin.js';

export const DOCS_PREFIX = '/api/docs';

// Everything the docs page loads comes from this server: nothing from a CDN, fonts or validator.
const DOCS_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "font-src 'self' data:",
  "frame-ancestors 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  // Swagger UI sets style attributes from script.
  "style-src 'self' 'unsafe-inline'",
].join('; ');

/**
 * The OpenAPI 3.1 document, generated from the zod schemas every route declares: JSON at
 * /api/docs/json, a Swagger UI page at /api/docs served entirely from the installed package.
 * Registered before the routes, so it sees each of them.
 */
export const openApiPlugin = fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Parley API',
          version: '1',
          description:
            'Managed private XMPP servers. Authenticate with the session cookie from POST /api/v1/sessions (writes also need the X-CSRF-Token header) or a personal API token (Authorization: Bearer prl_...). Errors are application/problem+json (RFC 9457).',
        },
        components: { securitySchemes: SECURITY_SCHEMES },
      },
      transform: jsonSchemaTransform,
    });
    await app.register(swaggerUi, { routePrefix: DOCS_PREFIX, staticCSP: DOCS_CSP, uiConfig: { validatorUrl: null } });
  },
  { name: 'parley-openapi', fastify: '5.x' },
);
