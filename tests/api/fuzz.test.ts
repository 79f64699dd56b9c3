import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { startApiHarness, withToken, type TestAccount } from '../support/api-harness.js';
import { snapshotDatabase } from '../support/api-db-snapshot.js';
import { fetchSpec, fillPath, fuzzArbitrary, operationsOf, toQueryString, type Operation } from '../support/api-openapi.js';
import { tenantFixtures } from '../support/api-tenant-fixtures.js';

// Every body and query of every /api/v1 route in the served spec, so routes added later are
// fuzzed too, each route its own test. Bounded: RUNS requests per route and mode.
const RUNS = 40;

// Read before the tests are made, so each route is reported on its own.
// Fuzzed log-ins and sign-ups all come from one address: the limits would answer 429 to most.
const harness = await startApiHarness({
  config: (base) => ({
    ...base,
    rateLimits: {
      ...base.rateLimits,
      loginFailuresPerIp: { max: 100_000, windowSeconds: 900 },
      signupsPerIp: { max: 100_000, windowSeconds: 3600 },
      domainVerificationsPerAccount: { max: 100_000, windowSeconds: 3600 },
    },
  }),
});
const operations: Operation[] = operationsOf(await fetchSpec(harness));
const account: TestAccount = await harness.signUp();
// Its fixtures' servers must not run into the plan's server quota.
const roomy = await harness.prisma.plan.upsert({
  where: { code: 'fuzz-roomy' },
  create: { code: 'fuzz-roomy', name: 'Fuzz', maxServers: 10_000, maxUsersPerServer: 1_000, storageMiB: 1024, memoryMiB: 256, cpuMillis: 500, pidsLimit: 128, active: false },
  update: {},
});
await harness.prisma.account.update({ where: { id: account.id }, data: { planId: roomy.id } });

afterAll(async () => {
  await harness.close();
});

const pathValue = fc.oneof(fc.uuid(), fc.string({ minLength: 1, maxLength: 40 }), fc.constantFrom('0', '-1', '%', '..', 'null'));

/** Sends fuzzed requests to one route: never a 5xx, and a 4xx (a refusal) changes nothing. */
async function fuzz(op: Operation, params: fc.Arbitrary<Record<string, string>>, authenticated: fc.Arbitrary<boolean>): Promise<void> {
  const request = fc.record({
    params,
    query: op.query ? fuzzArbitrary(op.query) : fc.constant(undefined),
    body: op.body ? fuzzArbitrary(op.body) : fc.constant(undefined),
    authenticated,
  });
  await fc.assert(
    fc.asyncProperty(request, async ({ params: values, query, body, authenticated: withAuth }) => {
      const before = await snapshotDatabase(harness.prisma);
      const answer = await harness.inject({
        method: op.method,
        url: `${fillPath(op.path, values)}${toQueryString(query)}`,
        headers: { ...(withAuth ? withToken(account) : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      const label = `${op.method} ${op.path} -> ${answer.statusCode} ${answer.body}`;
      expect(answer.statusCode, label).toBeLessThan(500);
      if (answer.statusCode >= 400) {
        expect(answer.headers['content-type'], label).toMatch(/^application\/problem\+json/);
        expect(await snapshotDatabase(harness.prisma), `${label} changed the database`).toEqual(before);
      }
    }),
    { numRuns: RUNS },
  );
}

describe('fuzzing every request body and query in the spec', () => {
  it('finds the routes in the spec', () => {
    expect(operations.length).toBeGreaterThanOrEqual(60);
  });

  describe.each(operations.map((op) => [`${op.method} ${op.path}`, op] as const))('%s', (_label, op) => {
    it('random ids, with and without a token: never a 5xx, a refusal changes nothing', async () => {
      await fuzz(op, fc.record(Object.fromEntries(op.pathParams.map((name) => [name, pathValue]))), fc.boolean());
    });

    // With the caller's own resource in the path, requests get past the 404 and reach the handler.
    if (op.pathParams.length > 0) {
      it("the caller's own resource, authenticated: never a 5xx, a refusal changes nothing", async () => {
        const fixture = tenantFixtures[op.path];
        expect(fixture, `add a fixture for ${op.path} to tests/support/api-tenant-fixtures.ts`).toBeDefined();
        const resource = await fixture!(harness, account);
        await fuzz(op, fc.constant(resource.params), fc.constant(true));
      });
    }
  });
});
