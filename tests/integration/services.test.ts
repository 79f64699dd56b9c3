import { randomUUID } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import Docker from 'dockerode';
import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { testEnv } from '../support/test-env.js';

// Smoke test of the machine set-up (infra/bootstrap/setup.sh): every sandbox service is reached
// for real with the values of the env file. When one of these fails, fix the set-up before
// reading any other test's failure.

/** GET over HTTPS trusting only the given CA bundle (Pebble's API certificate). */
function httpsGetJson(url: string, caFile: string): Promise<{ status: number; body: unknown }> {
  const ca = readFileSync(caFile);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', ca, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

describe('sandbox services (from .parley/sandbox.env)', () => {
  it('Postgres: logs in as the parley role and runs a query', async () => {
    const client = new pg.Client({ connectionString: testEnv().DATABASE_URL, connectionTimeoutMillis: 5_000 });
    await client.connect();
    try {
      const result = await client.query<{ user: string; db: string; sum: number }>(
        'SELECT current_user AS user, current_database() AS db, $1::int + 1 AS sum',
        [41],
      );
      expect(result.rows[0]).toEqual({ user: 'parley', db: 'parley', sum: 42 });
    } finally {
      await client.end();
    }
  });

  it('Redis: round trip, with the noeviction policy BullMQ needs', async () => {
    const redis = new Redis(testEnv().REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000 });
    await redis.connect();
    try {
      const key = `parley:test:services:${randomUUID()}`;
      expect(await redis.set(key, 'round-trip', 'PX', 10_000)).toBe('OK');
      expect(await redis.get(key)).toBe('round-trip');
      expect(await redis.del(key)).toBe(1);
      expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    } finally {
      await redis.quit();
    }
  });

  it('Docker: the engine answers its version over the socket', async () => {
    const docker = new Docker({ socketPath: testEnv().DOCKER_SOCKET });
    const version = await docker.version();
    expect(version.Version).toMatch(/^\d+\.\d+/);
    expect(version.ApiVersion).toMatch(/^1\.\d+$/);
  });

  it('PowerDNS: the API lists the platform zone with its SOA and NS', async () => {
    const { PDNS_API_URL, PDNS_API_KEY, PLATFORM_ZONE } = testEnv();
    const headers = { 'X-API-Key': PDNS_API_KEY };
    const base = `${PDNS_API_URL}/api/v1/servers/localhost/zones`;

    const list = await fetch(base, { headers, signal: AbortSignal.timeout(5_000) });
    expect(list.status).toBe(200);
    const zones = (await list.json()) as { name: string; kind: string }[];
    expect(zones).toContainEqual(expect.objectContaining({ name: `${PLATFORM_ZONE}.`, kind: 'Native' }));

    const detail = await fetch(`${base}/${PLATFORM_ZONE}.`, { headers, signal: AbortSignal.timeout(5_000) });
    expect(detail.status).toBe(200);
    const zone = (await detail.json()) as { rrsets: { name: string; type: string }[] };
    const types = zone.rrsets.filter((r) => r.name === `${PLATFORM_ZONE}.`).map((r) => r.type);
    expect(types).toEqual(expect.arrayContaining(['SOA', 'NS']));

    // And without the key: refused, so the key in the env file is what opens it.
    const anonymous = await fetch(base, { signal: AbortSignal.timeout(5_000) });
    expect(anonymous.status).toBe(401);
  });

  it('PowerDNS: answers DNS queries for the zone on the sandbox resolver', async () => {
    const { DNS_RESOLVER, PLATFORM_ZONE } = testEnv();
    const resolver = new Resolver({ timeout: 2_000, tries: 2 });
    resolver.setServers([DNS_RESOLVER]);
    const ns1 = `ns1.${PLATFORM_ZONE}`;

    const soa = await resolver.resolveSoa(PLATFORM_ZONE);
    expect(soa.nsname).toBe(ns1);
    expect(soa.hostmaster).toBe(`hostmaster.${PLATFORM_ZONE}`);
    expect(await resolver.resolveNs(PLATFORM_ZONE)).toContain(ns1);
    expect(await resolver.resolve4(ns1)).toEqual(['127.0.0.1']);
  });

  it('Pebble: serves the ACME directory over TLS trusted through ACME_CA_BUNDLE_FILE', async () => {
    const { ACME_DIRECTORY_URL, ACME_CA_BUNDLE_FILE } = testEnv();
    const { status, body } = await httpsGetJson(ACME_DIRECTORY_URL, ACME_CA_BUNDLE_FILE);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      newNonce: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+\//) as unknown,
      newAccount: expect.any(String) as unknown,
      newOrder: expect.any(String) as unknown,
    });
  });
});
