import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHarness, withToken, type ApiHarness, type TestAccount } from '../support/api-harness.js';
import { snapshotDatabase } from '../support/api-db-snapshot.js';
import { fetchSpec, fillPath, fuzzArbitrary, operationsOf, toQueryString, type Operation } from '../support/api-openapi.js';

// Every body and query of every /api/v1 route in the served spec, so routes added later are
// fuzzed too. Bounded: RUNS requests per route keep the file well under 30 s.
const RUNS = 50;

let harness: ApiHarness;
let operations: Operation[];
let account: TestAccount;

beforeAll(async () => {
  // Fuzzed log-ins and sign-ups all come from one address: the limits would answer 429 to most.
  harness = await startApiHarness({
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
  operations = operationsOf(await fetchSpec(harness));
  account = await harness.signUp();
});

afterAll(async () => {
  await harness?.close();
});

const pathValue = fc.oneof(fc.uuid(), fc.string({ minLength: 1, maxLength: 40 }), fc.constantFrom('0', '-1', '%', '..', 'null'));

describe('fuzzing every request body and query in the spec', () => {
  it('covers the routes', () => {
    expect(operations.length).toBeGreaterThanOrEqual(8);
  });

  it('never answers 5xx, and a 4xx answer changes nothing', async () => {
    for (const op of operations) {
      const request = fc.record({
        params: fc.record(Object.fromEntries(op.pathParams.map((name) => [name, pathValue]))),
        query: op.query ? fuzzArbitrary(op.query) : fc.constant(undefined),
        body: op.body ? fuzzArbitrary(op.body) : fc.constant(undefined),
        authenticated: fc.boolean(),
      });
      await fc.assert(
        fc.asyncProperty(request, async ({ params, query, body, authenticated }) => {
          const before = await snapshotDatabase(harness.prisma);
          const answer = await harness.inject({
            method: op.method,
            url: `${fillPath(op.path, params)}${toQueryString(query)}`,
            headers: { ...(authenticated ? withToken(account) : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
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
  });
});
