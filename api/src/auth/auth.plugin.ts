import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import { HttpProblem } from '../http/problem.js';
import { authenticateBearer, authenticateSession } from './authenticate.js';
import { CSRF_HEADER, SESSION_COOKIE, matchesHash } from './credentials.js';
import { notAuthenticated, type Principal } from './principal.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** OpenAPI security requirement of guarded routes: a session cookie or a bearer token. */
export const SECURITY_SCHEMES = {
  session: {
    type: 'apiKey',
    in: 'cookie',
    name: SESSION_COOKIE,
    description: `Set by POST /api/v1/sessions. Writes (POST, PUT, PATCH, DELETE) must also send the csrfToken from the log-in answer or GET /api/v1/me in the ${CSRF_HEADER} header.`,
  },
  bearer: { type: 'http', scheme: 'bearer', description: 'A personal API token (prl_...) from POST /api/v1/tokens. No CSRF header needed.' },
} as const;

/** Route guard (an onRequest hook): any logged-in account. */
export function requireAuth(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  done(request.principal ? undefined : notAuthenticated());
}

/** Route guard (an onRequest hook): operators only. */
export function requireOperator(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  if (!request.principal) return done(notAuthenticated());
  if (request.principal.role !== 'operator') {
    return done(new HttpProblem(403, 'Operators only', 'This endpoint is for Parley operators; your account is a customer account.'));
  }
  done();
}

type AuthDatabase = Parameters<typeof authenticateSession>[0];

/**
 * The request's credentials: its bearer token (an unknown, expired or revoked one throws 401) or
 * its session cookie (null when there is none or it no longer holds). Only a session needs CSRF.
 */
async function credentialsOf(db: AuthDatabase, request: FastifyRequest): Promise<{ principal: Principal; csrfSecretHash?: string } | null> {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) return { principal: await authenticateBearer(db, authorization, SAFE_METHODS.has(request.method)) };
  const cookie = request.cookies[SESSION_COOKIE];
  return cookie ? authenticateSession(db, cookie) : null;
}

/**
 * Whether the request's session or token would still be accepted: for a response that outlives
 * the check at its start (a live stream), so a revoked token or ended session stops it.
 */
export function stillAuthenticated(db: AuthDatabase, request: FastifyRequest): Promise<boolean> {
  return credentialsOf(db, request).then(
    (found) => found !== null,
    (error: unknown) => {
      if (error instanceof HttpProblem) return false;
      throw error;
    },
  );
}

const GUARDS: unknown[] = [requireAuth, requireOperator];
export const OPERATORS_TAG = 'operators';

/**
 * Resolves request.principal from a bearer token or the session cookie, and enforces CSRF on
 * cookie-authenticated writes. Runs before body validation, so an unauthenticated or forged write
 * is refused before its body is even looked at.
 */
export const authPlugin = fp(
  (app, _options, done) => {
    app.decorateRequest('principal', null);

    app.addHook('onRequest', async (request) => {
      const found = await credentialsOf(app, request);
      if (!found) return;
      if (found.csrfSecretHash !== undefined && !SAFE_METHODS.has(request.method)) checkCrossSite(request, found.csrfSecretHash);
      request.principal = found.principal;
    });

    // Guarded routes document their guard in the spec automatically: a security requirement, and
    // the "operators" tag for operator-only routes (the tenant-isolation test reads both).
    app.addHook('onRoute', (route) => {
      const hooks: unknown[] = [route.onRequest ?? []].flat();
      if (!hooks.some((hook) => GUARDS.includes(hook))) return;
      const tags = (route.schema?.tags as string[] | undefined) ?? [];
      route.schema = {
        ...route.schema,
        security: [{ session: [] }, { bearer: [] }],
        ...(hooks.includes(requireOperator) ? { tags: [...tags, OPERATORS_TAG] } : {}),
      };
    });
    done();
  },
  { name: 'parley-auth', fastify: '5.x', dependencies: ['parley-db', '@fastify/cookie'] },
);

function checkCrossSite(request: FastifyRequest, csrfSecretHash: string): void {
  const origin = request.headers.origin;
  if (origin !== undefined && hostOf(origin) !== hostOf(`http://${request.host}`)) {
    throw new HttpProblem(403, 'Cross-site request refused', `Requests from ${origin} may not use your Parley session.`);
  }
  const token = request.headers[CSRF_HEADER];
  if (typeof token !== 'string' || token === '') {
    throw new HttpProblem(
      403,
      'CSRF token missing',
      `This request is authenticated by the session cookie, so it must carry the ${CSRF_HEADER} header with the csrfToken returned at log-in or by GET /api/v1/me. (API tokens need no CSRF header.)`,
    );
  }
  if (!matchesHash(token, csrfSecretHash)) {
    throw new HttpProblem(
      403,
      'CSRF token wrong',
      `The ${CSRF_HEADER} header does not match this session. Fetch the current csrfToken from GET /api/v1/me and send it again.`,
    );
  }
}

/** host[:port] without the scheme's default port, so "https://x" matches a Host header "x:443". */
function hostOf(url: string): string | null {
  try {
    const { hostname, port } = new URL(url);
    return port === '' || port === '80' || port === '443' ? hostname : `${hostname}:${port}`;
  } catch {
    return null;
  }
}
