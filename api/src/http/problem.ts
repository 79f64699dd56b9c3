import type { FastifyError, FastifyInstance } from 'fastify';

/** An error whose message is written for the customer: what is wrong and what to do. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }
}

const PROBLEM_TYPE = 'application/problem+json';

/**
 * One place turns every error into RFC 9457 problem+json. A 5xx never carries its internals to
 * the client: they are logged with the request id, which the response repeats for support.
 */
export function registerProblemHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HttpProblem, request, reply) => {
    if (error instanceof HttpProblem) {
      return reply
        .code(error.status)
        .type(PROBLEM_TYPE)
        .send({ type: 'about:blank', title: error.title, status: error.status, detail: error.detail, instance: request.url, ...error.extra });
    }
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status < 500) {
      return reply.code(status).type(PROBLEM_TYPE).send({ type: 'about:blank', title: 'Bad request', status, detail: error.message, instance: request.url });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).type(PROBLEM_TYPE).send({
      type: 'about:blank',
      title: 'Internal error',
      status: 500,
      detail: `Something went wrong on our side. Quote request id ${request.id} if you contact support.`,
      instance: request.url,
    });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).type(PROBLEM_TYPE).send({
      type: 'about:blank',
      title: 'Not found',
      status: 404,
      detail: `There is nothing at ${request.method} ${request.url}.`,
      instance: request.url,
    }),
  );
}
