import { afterAll, describe, expect, it } from 'vitest';
import { startApiHarness, withToken, type ApiHarness, type TestAccount } from '../support/api-harness.js';
import { snapshotDatabase } from '../support/api-db-snapshot.js';
import { conformingArbitrary, fetchSpec, fillPath, operationsOf, toQueryString, type Operation } from '../support/api-openapi.js';
import { tenantFixtures } from '../support/api-tenant-fixtures.js';
import fc from 'fast-check';
import { OPERATORS_TAG } from '../../api/src/auth/auth.plugin.js';

/** Reads that hold customers' secrets (an export: password data and messages): their owner's only, never an operator's. */
const OWNER_ONLY_READS = new Set(['GET /api/v1/servers/{serverId}/exports/{id}/download']);

// Every route with a path parameter, read from the served spec before the tests are made: the
// routes of features added later are covered as soon as they exist (and fail here until they have
// a fixture), each route reported on its own.
const harness: ApiHarness = await startApiHarness();
const operations: Operation[] = operationsOf(await fetchSpec(harness)).filter((op) => op.pathParams.length > 0);
const owner: TestAccount = await harness.signUp();
const intruder: TestAccount = await harness.signUp();
const operator: TestAccount = await harness.signUp({ operator: true });

afterAll(async () => {
  await harness.close();
});

function request(op: Operation, resource: { params: Record<string, string>; bodies?: Partial<Record<string, unknown>> }, as: TestAccount) {
  const [query] = op.query ? fc.sample(conformingArbitrary(op.query), { numRuns: 1, seed: 1 }) : [undefined];
  const body = op.body ? (resource.bodies?.[op.method] ?? fc.sample(conformingArbitrary(op.body), { numRuns: 1, seed: 1 })[0]) : undefined;
  return harness.inject({
    method: op.method,
    url: `${fillPath(op.path, resource.params)}${toQueryString(query)}`,
    headers: withToken(as),
    ...(body === undefined ? {} : { payload: body as object }),
  });
}

describe('tenant isolation of every route with a path parameter', () => {
  it('finds the routes in the spec', () => {
    expect(operations.map((op) => `${op.method} ${op.path}`)).toContain('DELETE /api/v1/tokens/{id}');
  });

  it('has a fixture for every path', () => {
    const missing = [...new Set(operations.map((op) => op.path))].filter((path) => !tenantFixtures[path]);
    expect(missing, `add a fixture for these paths to tests/support/api-tenant-fixtures.ts`).toEqual([]);
  });

  it.each(operations.map((op) => [`${op.method} ${op.path}`, op] as const))('%s: 404 to another account, changing nothing; the owner and operators reach it', async (label, op) => {
    const resource = await tenantFixtures[op.path]!(harness, owner);
    const before = await snapshotDatabase(harness.prisma);
    const answer = await request(op, resource, intruder);
    const expected = op.tags.includes(OPERATORS_TAG) ? 403 : 404;
    expect(answer.statusCode, `${label} as another account: ${answer.body}`).toBe(expected);
    expect(answer.headers['content-type'], label).toMatch(/^application\/problem\+json/);
    expect(await snapshotDatabase(harness.prisma), `${label} as another account changed the database`).toEqual(before);

    // The 404 above means something only if the resource is really there for its owner (for an
    // operator route, whose resources belong to no customer: for an operator).
    const asOwner = await request(op, resource, op.tags.includes(OPERATORS_TAG) ? operator : owner);
    expect(asOwner.statusCode, `${label} as the owner: ${asOwner.body}`).toBeLessThan(300);
    if (op.method === 'GET') {
      const asOperator = await request(op, resource, operator);
      expect(asOperator.statusCode, `${label} as an operator: ${asOperator.body}`).toBe(OWNER_ONLY_READS.has(label) ? 403 : 200);
    }
  });

  it('lets an operator act on a customer\'s resource', async () => {
    const resource = await tenantFixtures['/api/v1/tokens/{id}']!(harness, owner);
    const answer = await harness.inject({ method: 'DELETE', url: `/api/v1/tokens/${resource.params.id}`, headers: withToken(operator) });
    expect(answer.statusCode).toBe(204);
    const audit = await harness.prisma.auditLog.findFirstOrThrow({ where: { action: 'token.revoke', targetId: resource.params.id } });
    expect(audit).toMatchObject({ actorId: operator.id, actorKind: 'api_token' });
  });
});
