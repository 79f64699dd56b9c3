import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHarness, withToken, type ApiHarness } from '../support/api-harness.js';
import { fetchSpec, operationsOf, type OpenApiDocument, type Operation } from '../support/api-openapi.js';

let harness: ApiHarness;
let spec: OpenApiDocument;
let operations: Operation[];

beforeAll(async () => {
  harness = await startApiHarness();
  spec = await fetchSpec(harness);
  operations = operationsOf(spec);
});

afterAll(async () => {
  await harness?.close();
});

describe('OpenAPI document at /api/docs/json', () => {
  it('is OpenAPI 3.1 with exactly the /api/v1 routes listed here (a new route is added to this list on purpose)', () => {
    expect(spec.openapi).toBe('3.1.0');
    expect(operations.map((op) => `${op.method} ${op.path}`).sort()).toEqual([
      'DELETE /api/v1/domains/{id}',
      'DELETE /api/v1/servers/{id}',
      'DELETE /api/v1/servers/{serverId}/invites/{id}',
      'DELETE /api/v1/servers/{serverId}/users/{id}',
      'DELETE /api/v1/sessions/current',
      'DELETE /api/v1/tokens/{id}',
      'GET /api/v1/audit',
      'GET /api/v1/deleted-servers',
      'GET /api/v1/domains',
      'GET /api/v1/domains/{id}',
      'GET /api/v1/me',
      'GET /api/v1/operator/health',
      'GET /api/v1/operator/jobs/failed',
      'GET /api/v1/operator/nodes',
      'GET /api/v1/operator/overview',
      'GET /api/v1/plans',
      'GET /api/v1/servers',
      'GET /api/v1/servers/{id}',
      'GET /api/v1/servers/{id}/events',
      'GET /api/v1/servers/{serverId}/backups',
      'GET /api/v1/servers/{serverId}/exports',
      'GET /api/v1/servers/{serverId}/exports/{id}/download',
      'GET /api/v1/servers/{serverId}/invites',
      'GET /api/v1/servers/{serverId}/invites/{id}',
      'GET /api/v1/servers/{serverId}/usage',
      'GET /api/v1/servers/{serverId}/users',
      'GET /api/v1/servers/{serverId}/users/{id}',
      'GET /api/v1/status',
      'GET /api/v1/tokens',
      'POST /api/v1/accounts',
      'POST /api/v1/deleted-servers/{id}/restore',
      'POST /api/v1/domains',
      'POST /api/v1/domains/{id}/verify',
      'POST /api/v1/imports',
      'POST /api/v1/me/email/verification-mail',
      'POST /api/v1/me/email/verify',
      'POST /api/v1/me/password',
      'POST /api/v1/me/two-factor/disable',
      'POST /api/v1/me/two-factor/enrolment',
      'POST /api/v1/me/two-factor/enrolment/confirm',
      'POST /api/v1/operator/jobs/{queue}/{jobId}/retry',
      'POST /api/v1/operator/moves',
      'POST /api/v1/operator/nodes/{id}/activate',
      'POST /api/v1/operator/nodes/{id}/drain',
      'POST /api/v1/password-reset',
      'POST /api/v1/password-reset/confirm',
      'POST /api/v1/servers',
      'POST /api/v1/servers/{id}/actions',
      'POST /api/v1/servers/{id}/calls/secret/rotate',
      'POST /api/v1/servers/{id}/compliance',
      'POST /api/v1/servers/{id}/credentials/reset',
      'POST /api/v1/servers/{id}/credentials/reveal',
      'POST /api/v1/servers/{serverId}/backups',
      'POST /api/v1/servers/{serverId}/backups/{id}/restore',
      'POST /api/v1/servers/{serverId}/exports',
      'POST /api/v1/servers/{serverId}/invites',
      'POST /api/v1/servers/{serverId}/users',
      'POST /api/v1/servers/{serverId}/users/{id}/password',
      'POST /api/v1/servers/{serverId}/users/{id}/password/reveal',
      'POST /api/v1/sessions',
      'POST /api/v1/sessions/two-factor',
      'POST /api/v1/tokens',
      'PUT /api/v1/servers/{id}/contacts',
    ]);
    expect(Object.keys(spec.components?.securitySchemes ?? {}).sort()).toEqual(['bearer', 'session']);
  });

  it('marks exactly the guarded routes as needing authentication', () => {
    const open = operations.filter((op) => !op.secured).map((op) => `${op.method} ${op.path}`);
    expect(open.sort()).toEqual([
      'GET /api/v1/plans',
      'GET /api/v1/status',
      'POST /api/v1/accounts',
      'POST /api/v1/me/email/verify',
      'POST /api/v1/password-reset',
      'POST /api/v1/password-reset/confirm',
      'POST /api/v1/sessions',
      'POST /api/v1/sessions/two-factor',
    ]);
  });

  it('documents a success schema and the problem answers of every route, and a body schema for every write', () => {
    for (const op of operations) {
      const label = `${op.method} ${op.path}`;
      const statuses = Object.keys(op.raw.responses);
      expect(statuses.some((s) => /^2\d\d$/.test(s)), label).toBe(true);
      expect(statuses, label).toEqual(expect.arrayContaining(['4XX', '5XX']));
      if (op.method === 'POST') expect(op.body, label).toBeDefined();
    }
  });
});

describe('docs page at /api/docs', () => {
  it('serves Swagger UI whose every asset is on this server, under a CSP that allows nothing remote', async () => {
    const page = await harness.inject({ method: 'GET', url: '/api/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toMatch(/https?:|\*|validator/);

    const references = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(references.length).toBeGreaterThan(3);
    for (const reference of references) {
      expect(reference, reference).not.toMatch(/^(https?:)?\/\//);
      const asset = await harness.inject({ method: 'GET', url: new URL(reference, 'http://localhost/api/docs').pathname });
      expect(asset.statusCode, reference).toBe(200);
    }
    const initializer = await harness.inject({ method: 'GET', url: '/api/docs/static/swagger-initializer.js' });
    expect(initializer.body).toContain("resolveUrl('./json')");
    expect(initializer.body).toContain('validatorUrl: null');
  });
});

describe('problem+json errors', () => {
  it('answers an unknown path with a 404 problem', async () => {
    const answer = await harness.inject({ method: 'GET', url: '/api/v1/nope' });
    expect(answer.statusCode).toBe(404);
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(answer.json()).toMatchObject({ status: 404, detail: 'There is nothing at GET /api/v1/nope.' });
  });

  it('answers malformed JSON, a wrong content type and a missing body with 4xx problems', async () => {
    const malformed = await harness.inject({ method: 'POST', url: '/api/v1/sessions', headers: { 'content-type': 'application/json' }, payload: '{"email":' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.headers['content-type']).toMatch(/^application\/problem\+json/);
    const xml = await harness.inject({ method: 'POST', url: '/api/v1/sessions', headers: { 'content-type': 'application/xml' }, payload: '<a/>' });
    expect(xml.statusCode).toBe(415);
    expect(xml.json()).toMatchObject({ title: 'Unsupported Media Type', status: 415 });
    const text = await harness.inject({ method: 'POST', url: '/api/v1/sessions', headers: { 'content-type': 'text/plain' }, payload: 'hello' });
    expect(text.json()).toMatchObject({ status: 400, errors: [{ in: 'body', field: '', message: 'must be a JSON object (send Content-Type: application/json)' }] });
    const missing = await harness.inject({ method: 'POST', url: '/api/v1/sessions' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ errors: [{ in: 'body', field: '', message: 'must be a JSON object (send Content-Type: application/json)' }] });
  });

  it('names every bad query parameter', async () => {
    const account = await harness.signUp();
    const answer = await harness.inject({ method: 'GET', url: '/api/v1/tokens?limit=0&colour=red', headers: withToken(account) });
    expect(answer.statusCode).toBe(400);
    const problem = answer.json<{ detail: string; errors: { in: string; field: string }[] }>();
    expect(problem.errors).toEqual([
      { in: 'query', field: 'limit', message: 'must be from 1 to 100' },
      { in: 'query', field: '', message: 'has unknown field "colour": remove it' },
    ]);
    expect(problem.detail).toBe('The request has 2 problems: limit must be from 1 to 100; the query has unknown field "colour": remove it.');
  });
});
