import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, type ZodFastifySchemaValidationError } from 'fastify-type-provider-zod';
import { unreachableDependency, type Dependency } from './dependency-errors.js';

/** An error whose message is written for the customer: what is wrong and what to do. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }
}

/**
 * The answer for a resource that does not exist *or belongs to another account*: the two must
 * look the same, so another tenant's ids leak nothing. `listHint` says where to find valid ids.
 */
export function notFound(what: string, id: string, listHint: string): HttpProblem {
  return new HttpProblem(404, 'Not found', `You have no ${what} with id ${id}; list yours with ${listHint}.`);
}

/** One field of a rejected request: where it is, which field, and what to fix. */
export interface FieldError {
  in: 'body' | 'query' | 'path' | 'header';
  field: string;
  message: string;
}

const PROBLEM_TYPE = 'application/problem+json';
const RETRY_AFTER_SECONDS = 5;

const DEPENDENCY_NAMES: Record<Dependency, string> = { database: 'The database (PostgreSQL)', redis: 'Redis' };

/**
 * One place turns every error into RFC 9457 problem+json. A 5xx never carries its internals to
 * the client: they are logged with the request id, which the response repeats for support.
 */
export function registerProblemHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HttpProblem, request, reply) => {
    if (error instanceof HttpProblem) {
      return sendProblem(request, reply.headers(error.headers), error.status, error.title, error.detail, error.extra);
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const errors = error.validation.map((issue) => fieldError(issue, error.validationContext));
      const detail = `The request has ${errors.length === 1 ? 'a problem' : `${errors.length} problems`}: ${errors
        .map((e) => `${e.field === '' ? `the ${e.in}` : e.field} ${e.message}`)
        .join('; ')}.`;
      return sendProblem(request, reply, 400, 'Invalid request', detail, { errors });
    }
    const dependency = unreachableDependency(error);
    if (dependency) {
      request.log.warn({ err: error, dependency }, 'dependency unreachable');
      return sendProblem(
        request,
        reply.header('retry-after', String(RETRY_AFTER_SECONDS)),
        503,
        'Service unavailable',
        `${DEPENDENCY_NAMES[dependency]} is unreachable right now, so this request could not be served; nothing was changed. Try again in a few seconds.`,
        { dependency },
      );
    }
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status < 500) {
      // Fastify's own 4xx (malformed JSON, wrong content type, body too large) describe the request, not our internals.
      return sendProblem(request, reply, status, STATUS_CODES[status] ?? 'Bad request', error.message);
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(
      request,
      reply,
      500,
      'Internal error',
      `Something went wrong on our side. Quote request id ${request.id} if you contact support.`,
    );
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, 404, 'Not found', `There is nothing at ${request.method} ${request.url}.`),
  );
}

function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  title: string,
  detail: string,
  extra: Record<string, unknown> = {},
) {
  return reply.code(status).type(PROBLEM_TYPE).send({ type: 'about:blank', title, status, detail, instance: request.url, ...extra });
}

const LOCATIONS: Record<string, FieldError['in']> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

function fieldError(issue: ZodFastifySchemaValidationError, context: string | undefined): FieldError {
  const field = issue.instancePath.replace(/^\//, '').replaceAll('/', '.');
  const where = LOCATIONS[context ?? 'body'] ?? 'body';
  if (field === '' && where === 'body' && issue.keyword === 'invalid_type') {
    return { in: where, field, message: 'must be a JSON object (send Content-Type: application/json)' };
  }
  return { in: where, field, message: describeIssue(issue) };
}

// Schemas word their own messages as "must ..."; zod's defaults ("Invalid input: ...", "Too
// small: ...") are rephrased the same way so every detail reads alike.
const ZOD_DEFAULT = /^(Invalid|Too (small|big)|Unrecognized)/;

function describeIssue(issue: ZodFastifySchemaValidationError): string {
  const message = issue.message ?? 'is invalid';
  if (!ZOD_DEFAULT.test(message)) return message;
  const p = issue.params as { expected?: string; origin?: string; minimum?: unknown; maximum?: unknown; format?: string; values?: unknown[]; keys?: string[] };
  const unit = p.origin === 'string' ? ' characters' : p.origin === 'array' ? ' items' : '';
  switch (issue.keyword) {
    case 'invalid_type':
      return /received undefined/.test(message) ? 'is required' : `must be ${p.expected === 'array' || p.expected === 'object' ? 'an' : 'a'} ${p.expected}`;
    case 'too_small':
      return `must be at least ${String(p.minimum)}${unit}`;
    case 'too_big':
      return `must be at most ${String(p.maximum)}${unit}`;
    case 'invalid_format':
      return `must be a valid ${p.format ?? 'value'}`;
    case 'invalid_value':
      return `must be one of ${(p.values ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys': {
      const keys = p.keys ?? [];
      return `has unknown field${keys.length === 1 ? '' : 's'} ${keys.map((k) => `"${k}"`).join(', ')}: remove ${keys.length === 1 ? 'it' : 'them'}`;
    }
    default:
      return message.replace(ZOD_DEFAULT, 'is invalid');
  }
}
