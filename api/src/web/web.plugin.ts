import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginCallback } from 'fastify';
import { renderIndexHtml } from './index-html.js';
import { DASHBOARD_HEADERS } from './security-headers.js';

/** Paths the dashboard never owns: an unknown one there is the API's 404, not the app's page. */
const NOT_DASHBOARD = /^\/(api|health)(\/|$)/;

/**
 * Serves the built dashboard at / and answers every other GET outside /api and /health with its
 * index.html, so the browser's router owns deep links. Encapsulated: the headers set here never
 * reach API responses.
 */
export const webPlugin: FastifyPluginCallback<{ distDir: string; platformZone: string }> = (app, { distDir, platformZone }, done) => {
  const built = existsSync(join(distDir, 'index.html'));
  app.addHook('onSend', (_request, reply, payload, next) => {
    reply.headers(DASHBOARD_HEADERS);
    next(null, payload);
  });

  if (built) {
    app.register(fastifyStatic, {
      root: distDir,
      // One route per built file: an unknown path falls through to the fallback below.
      wildcard: false,
      // index.html is rendered by the fallback below (it carries the platform zone).
      index: false,
      globIgnore: ['index.html'],
      setHeaders(reply, path) {
        // Vite puts a content hash in every asset name, so those never change; anything else might.
        reply.header('cache-control', path.includes(`${join(distDir, 'assets')}/`) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  } else {
    app.log.warn({ distDir }, 'dashboard not built: / answers 503 until `./parley up` (or npm run build:web) builds it');
  }

  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    if (NOT_DASHBOARD.test(request.url)) return reply.callNotFound();
    if (!built) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The dashboard has not been built on this server. Run ./parley up (or npm run build:web), then reload.');
    }
    return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(await renderIndexHtml(distDir, platformZone));
  });
  done();
};
