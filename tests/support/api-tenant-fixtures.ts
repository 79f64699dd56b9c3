import { withToken, type ApiHarness, type TestAccount } from './api-harness.js';

/** A resource owned by `owner`, and how to address it on the routes of one path template. */
export interface TenantResource {
  /** Values for the template's path parameters. */
  params: Record<string, string>;
  /** A valid body per method (POST/PUT/PATCH), so validation passes and ownership is what is tested. */
  bodies?: Partial<Record<'POST' | 'PUT' | 'PATCH', unknown>>;
}

export type TenantFixture = (harness: ApiHarness, owner: TestAccount) => Promise<TenantResource>;

function created<T>(response: { statusCode: number; body: string; json: () => unknown }): T {
  if (response.statusCode !== 201) throw new Error(`fixture: creation answered ${response.statusCode}: ${response.body}`);
  return response.json() as T;
}

/**
 * One entry per OpenAPI path template with path parameters. tests/api/tenant-isolation.test.ts
 * runs every method of every such template in the spec and fails, naming the template, when an
 * entry is missing here: adding a route with an :id adds its isolation test by adding its fixture.
 * A fixture creates a fresh resource through the API as `owner`.
 */
export const tenantFixtures: Record<string, TenantFixture> = {
  '/api/v1/tokens/{id}': async (harness, owner) => {
    const body = created<{ token: { id: string } }>(
      await harness.inject({ method: 'POST', url: '/api/v1/tokens', headers: withToken(owner), payload: { name: 'tenant fixture' } }),
    );
    return { params: { id: body.token.id } };
  },
};
