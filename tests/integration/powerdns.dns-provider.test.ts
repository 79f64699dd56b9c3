import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PowerDnsProvider } from '../../worker/src/adapters/powerdns.dns-provider.js';
import type { DnsRecord } from '../../worker/src/ports/dns-provider.js';
import { planServerRecords } from '../../worker/src/provisioning/dns-plan.js';
import { waitForAbsence, waitForRecords } from '../../worker/src/provisioning/dns-propagation.js';
import { testEnv } from '../support/test-env.js';
import { expectEvery } from '../support/expect-every.js';

// Against the sandbox's real PowerDNS, in a throwaway zone of this file's own, so the platform
// zone and other tests are never touched.

const zone = `t-${randomBytes(4).toString('hex')}.test`;

function api(path: string, init: RequestInit = {}): Promise<Response> {
  const { PDNS_API_URL, PDNS_API_KEY } = testEnv();
  return fetch(`${PDNS_API_URL.replace(/\/$/, '')}/api/v1/servers/localhost${path}`, {
    ...init,
    headers: { 'X-API-Key': PDNS_API_KEY, 'Content-Type': 'application/json' },
    signal: AbortSignal.timeout(10_000),
  });
}

/** Writes an rrset directly through the API, as a person or another tool would. */
async function putForeign(name: string, type: string, contents: string[]): Promise<void> {
  const response = await api(`/zones/${zone}.`, {
    method: 'PATCH',
    body: JSON.stringify({
      rrsets: [{ name: `${name}.`, type, ttl: 120, changetype: 'REPLACE', records: contents.map((content) => ({ content, disabled: false })) }],
    }),
  });
  expect(response.status).toBe(204);
}

function provider(overrides: Partial<ConstructorParameters<typeof PowerDnsProvider>[0]> = {}): PowerDnsProvider {
  const { PDNS_API_URL, PDNS_API_KEY } = testEnv();
  return new PowerDnsProvider({ apiUrl: PDNS_API_URL, apiKey: PDNS_API_KEY, serverId: 'localhost', zone, ...overrides });
}

const txt = (name: string, value: string): DnsRecord => ({ name: `${name}.${zone}`, type: 'TXT', ttl: 60, value });
const values = (records: DnsRecord[]) => records.map((r) => r.value).sort();

beforeAll(async () => {
  const response = await api('/zones', {
    method: 'POST',
    body: JSON.stringify({ name: `${zone}.`, kind: 'Native', nameservers: [`ns1.${zone}.`] }),
  });
  expect(response.status, await response.text()).toBe(201);
});

afterAll(async () => {
  await api(`/zones/${zone}.`, { method: 'DELETE' });
});

describe('PowerDnsProvider (real PowerDNS)', () => {
  let dns: PowerDnsProvider;
  beforeAll(() => {
    dns = provider();
  });

  it('ping proves the zone is served', async () => {
    await expect(dns.ping()).resolves.toContain(`${zone}.`);
  });

  it('adding the same value twice leaves one value', async () => {
    const record = txt('twice', 'token-1');
    await dns.addRecords(zone, [record]);
    await dns.addRecords(zone, [record, record]);
    expect(await dns.listRecords(zone, record.name)).toEqual([record]);
  });

  it('keeps a foreign value at the same name through add and remove', async () => {
    const name = `shared.${zone}`;
    await putForeign(name, 'TXT', ['"someone else"']);
    await dns.addRecords(zone, [txt('shared', 'ours')]);
    expect(values(await dns.listRecords(zone, name))).toEqual(['ours', 'someone else']);
    await dns.removeRecords(zone, [txt('shared', 'ours')]);
    expect(await dns.listRecords(zone, name)).toEqual([{ name, type: 'TXT', ttl: 60, value: 'someone else' }]);
  });

  it('keeps a foreign A value and its TTL when ours is added and removed', async () => {
    const name = `www.${zone}`;
    await putForeign(name, 'A', ['192.0.2.10']);
    const ours: DnsRecord = { name, type: 'A', ttl: 300, value: '127.0.0.1' };
    await dns.addRecords(zone, [ours]);
    expect(values(await dns.listRecords(zone, name))).toEqual(['127.0.0.1', '192.0.2.10']);
    await dns.removeRecords(zone, [ours]);
    expect(await dns.listRecords(zone, name)).toEqual([{ name, type: 'A', ttl: 120, value: '192.0.2.10' }]);
  });

  it('removing twice, or removing what never existed, is fine', async () => {
    const record = txt('gone', 'bye');
    await dns.addRecords(zone, [record]);
    await dns.removeRecords(zone, [record]);
    await dns.removeRecords(zone, [record]);
    await dns.removeRecords(zone, [txt('never-there', 'x')]);
    expect(await dns.listRecords(zone, record.name)).toEqual([]);
  });

  it('removes only the values asked for', async () => {
    await dns.addRecords(zone, [txt('multi', 'a'), txt('multi', 'b'), txt('multi', 'c')]);
    await dns.removeRecords(zone, [txt('multi', 'b')]);
    expect(values(await dns.listRecords(zone, `multi.${zone}`))).toEqual(['a', 'c']);
  });

  it('round-trips TXT values with quotes, backslashes and spaces, and longer than 255 characters', async () => {
    const tricky = txt('tricky', 'say "hi" \\ to  everyone ');
    const long = txt('long', 'x'.repeat(300) + '"' + 'y'.repeat(100));
    await dns.addRecords(zone, [tricky, long]);
    expect(await dns.listRecords(zone, tricky.name)).toEqual([tricky]);
    expect(await dns.listRecords(zone, long.name)).toEqual([long]);

    const resolver = new Resolver({ timeout: 2_000, tries: 1 });
    resolver.setServers([testEnv().DNS_RESOLVER]);
    expect((await resolver.resolveTxt(tricky.name)).map((chunks) => chunks.join(''))).toEqual([tricky.value]);
    expect((await resolver.resolveTxt(long.name)).map((chunks) => chunks.join(''))).toEqual([long.value]);
    await dns.removeRecords(zone, [tricky, long]);
    expect(await dns.listRecords(zone, tricky.name)).toEqual([]);
  });

  it('lands every value of concurrent adds to one zone', async () => {
    const records = Array.from({ length: 24 }, (_, i) => txt(i % 2 === 0 ? 'busy' : `busy-${i}`, `value-${i}`));
    await Promise.all(records.map((record) => dns.addRecords(zone, [record])));
    const listed = await dns.listRecords(zone);
    for (const record of records) expect(listed).toContainEqual(record);
  });

  it("three instances (as three worker processes) writing different names all land: sqlite's HTTP 500 is retried", async () => {
    const instances = [dns, provider(), provider()];
    const records = instances.map((_, p) => Array.from({ length: 10 }, (__, i) => txt(`proc-${p}-${i}`, `p${p}`)));
    await Promise.all(instances.flatMap((instance, p) => (records[p] ?? []).map((r) => instance.addRecords(zone, [r]))));
    const listed = await dns.listRecords(zone);
    for (const record of records.flat()) expect(listed).toContainEqual(record);
  });

  it('lists the whole zone or one name, only the record types of the port', async () => {
    const all = await dns.listRecords(zone);
    expectEvery(all, (r) => ['A', 'AAAA', 'CNAME', 'SRV', 'TXT'].includes(r.type));
    expect(all.some((r) => r.name === `twice.${zone}`)).toBe(true);
    expect(await dns.listRecords(zone, `nothing-here.${zone}`)).toEqual([]);
  });

  it('publishes a server plan that waitForRecords then sees through DNS, and waitForAbsence after removal', async () => {
    const { DNS_RESOLVER } = testEnv();
    const records = [
      ...planServerRecords({
        domain: `alice.${zone}`,
        nodeAddress: '127.0.0.1',
        ports: { c2s: 15222, c2sDirectTls: 15223, s2s: 15269, https: 15443 },
        federation: true,
      }),
      { name: `v6.${zone}`, type: 'AAAA', ttl: 60, value: '2001:db8::5' } satisfies DnsRecord,
      { name: `alias.${zone}`, type: 'CNAME', ttl: 60, value: `alice.${zone}.` } satisfies DnsRecord,
      txt('_acme-challenge.alice', 'challenge-token_-abc'),
    ];
    await dns.addRecords(zone, records);
    await waitForRecords(DNS_RESOLVER, records, { timeoutMs: 10_000, intervalMs: 100 });
    expect(values(await dns.listRecords(zone, `_xmpp-client._tcp.alice.${zone}`))).toEqual([`0 5 15222 alice.${zone}.`]);

    await dns.removeRecords(zone, records);
    await waitForAbsence(DNS_RESOLVER, records, { timeoutMs: 10_000, intervalMs: 100 });
  });

  it('waitForRecords names the missing record when it times out', async () => {
    const missing = txt('_acme-challenge.nobody', 'not-published');
    await expect(waitForRecords(testEnv().DNS_RESOLVER, [missing], { timeoutMs: 300, intervalMs: 100 })).rejects.toThrow(
      `DNS still not visible after 300 ms: TXT _acme-challenge.nobody.${zone} "not-published" at ${testEnv().DNS_RESOLVER}`,
    );
  });

  it('refuses records outside the zone, or malformed, before changing anything', async () => {
    await expect(dns.addRecords(zone, [{ name: 'elsewhere.example', type: 'TXT', ttl: 60, value: 'x' }])).rejects.toThrow(/outside the zone/);
    await expect(dns.addRecords(zone, [{ name: `bad.${zone}`, type: 'SRV', ttl: 60, value: '0 5 alice' }])).rejects.toThrow(/SRV value/);
    await expect(dns.addRecords(zone, [{ name: `bad.${zone}`, type: 'A', ttl: 60, value: '::1' }])).rejects.toThrow(/IPv4/);
    expect(await dns.listRecords(zone, `bad.${zone}`)).toEqual([]);
  });
});

describe('PowerDnsProvider errors say what to do', () => {
  it('a wrong API key', async () => {
    await expect(provider({ apiKey: 'wrong-key-wrong-key' }).ping()).rejects.toThrow(/rejected the API key: set PDNS_API_KEY/);
  });

  it('a zone PowerDNS does not serve', async () => {
    await expect(provider().addRecords('no-such-zone.test', [{ name: 'a.no-such-zone.test', type: 'TXT', ttl: 60, value: 'x' }])).rejects.toThrow(
      /does not serve the zone no-such-zone\.test\./,
    );
  });

  it('PowerDNS down at the URL', async () => {
    await expect(provider({ apiUrl: 'http://127.0.0.1:1' }).listRecords(zone)).rejects.toThrow(
      /PowerDNS is not reachable at http:\/\/127\.0\.0\.1:1 .*is pdns_server running/,
    );
  });
});
