import { ChangeResourceRecordSetsCommand, type Change } from '@aws-sdk/client-route-53';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRoute53Client, Route53DnsProvider, type Route53Options } from '../../worker/src/adapters/route53.dns-provider.js';
import type { DnsRecord } from '../../worker/src/ports/dns-provider.js';
import { planServerRecords } from '../../worker/src/provisioning/dns-plan.js';
import { FakeRoute53 } from '../support/fake-route53.js';

// The real @aws-sdk/client-route-53 against a local endpoint that speaks Route 53's REST/XML and
// checks every request (Route 53 itself cannot be reached from here). After each test the fake
// must have seen no malformed request.

const zone = 'parley.test';
const credentials = { accessKeyId: 'AKIAFAKEPARLEYTEST00', secretAccessKey: 'fake-secret-for-the-local-endpoint' };

let fake: FakeRoute53;

function client() {
  return createRoute53Client({ region: 'us-east-1', endpoint: fake.url, credentials });
}

function provider(overrides: Partial<Route53Options> = {}): Route53DnsProvider {
  return new Route53DnsProvider({
    client: client(),
    hostedZoneId: fake.hostedZoneId,
    zone,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
    sync: { intervalMs: 5, timeoutMs: 2_000 },
    ...overrides,
  });
}

const txt = (name: string, value: string): DnsRecord => ({ name: `${name}.${zone}`, type: 'TXT', ttl: 60, value });
const values = (records: DnsRecord[]) => records.map((r) => r.value).sort();

describe('Route53DnsProvider (real SDK, local Route 53 endpoint)', () => {
  let dns: Route53DnsProvider;

  beforeEach(async () => {
    fake = await FakeRoute53.start({ zone });
    dns = provider();
  });

  afterEach(async () => {
    expect(fake.malformed).toEqual([]);
    await fake.close();
  });

  it('ping checks the hosted zone is the platform zone', async () => {
    await expect(dns.ping()).resolves.toBe(`Route 53 hosted zone ${fake.hostedZoneId} serves parley.test.`);
  });

  it('adding the same value twice leaves one value, and the second add changes nothing', async () => {
    const record = txt('twice', 'token-1');
    await dns.addRecords(zone, [record]);
    await dns.addRecords(zone, [record, record]);
    expect(await dns.listRecords(zone, record.name)).toEqual([record]);
    expect(fake.count('ChangeResourceRecordSets')).toBe(1);
    expect(fake.rrset(record.name, 'TXT')).toEqual({ name: `${record.name}.`, type: 'TXT', ttl: 60, values: ['"token-1"'] });
  });

  it('keeps a foreign value at the same name through add and remove (UPSERT with the union, then the rest)', async () => {
    const name = `shared.${zone}`;
    fake.seed(name, 'TXT', 120, ['"someone else"']);
    await dns.addRecords(zone, [txt('shared', 'ours')]);
    expect(fake.rrset(name, 'TXT')?.values).toEqual(['"someone else"', '"ours"']);
    expect(values(await dns.listRecords(zone, name))).toEqual(['ours', 'someone else']);
    await dns.removeRecords(zone, [txt('shared', 'ours')]);
    expect(fake.rrset(name, 'TXT')).toEqual({ name: `${name}.`, type: 'TXT', ttl: 60, values: ['"someone else"'] });
  });

  it('deletes with the exact current set when no value remains; removing twice is fine', async () => {
    const record = txt('gone', 'bye');
    await dns.addRecords(zone, [record]);
    await dns.removeRecords(zone, [record]);
    await dns.removeRecords(zone, [record]);
    await dns.removeRecords(zone, [txt('never-there', 'x')]);
    expect(fake.rrset(record.name, 'TXT')).toBeUndefined();
    const changes = fake.requests.filter((r) => r.operation === 'ChangeResourceRecordSets');
    expect(changes).toHaveLength(2);
    expect(changes[1]?.body).toContain('<Action>DELETE</Action>');
  });

  it('"already gone" is success: a value deleted by someone else between read and write', async () => {
    const record = txt('raced', 'v');
    await dns.addRecords(zone, [record]);
    fake.onNextChange(() => fake.deleteRrset(record.name, 'TXT'));
    await dns.removeRecords(zone, [record]);
    expect(fake.requests.filter((r) => r.operation === 'ChangeResourceRecordSets').map((r) => r.error)).toEqual([undefined, 'InvalidChangeBatch']);
    expect(fake.rrset(record.name, 'TXT')).toBeUndefined();
  });

  it('re-plans when someone else changed the record set between read and write', async () => {
    const record = txt('moving', 'ours');
    await dns.addRecords(zone, [record]);
    fake.onNextChange(() => fake.seed(record.name, 'TXT', 60, ['"ours"', '"theirs"']));
    await dns.removeRecords(zone, [record]);
    expect(fake.rrset(record.name, 'TXT')?.values).toEqual(['"theirs"']);
  });

  it('round-trips TXT values with quotes, backslashes and spaces, and longer than 255 characters', async () => {
    const tricky = txt('tricky', 'say "hi" \\ to  everyone ');
    const long = txt('long', 'x'.repeat(300) + '"' + 'y'.repeat(100));
    await dns.addRecords(zone, [tricky, long]);
    expect(fake.rrset(tricky.name, 'TXT')?.values).toEqual(['"say \\"hi\\" \\\\ to  everyone "']);
    expect(fake.rrset(long.name, 'TXT')?.values).toEqual([`"${'x'.repeat(255)}" "${'x'.repeat(45)}\\"${'y'.repeat(100)}"`]);
    expect(await dns.listRecords(zone, tricky.name)).toEqual([tricky]);
    expect(await dns.listRecords(zone, long.name)).toEqual([long]);
    await dns.removeRecords(zone, [tricky, long]);
    expect(await dns.listRecords(zone, tricky.name)).toEqual([]);
    expect(fake.count('ChangeResourceRecordSets')).toBe(2);
  });

  it('sends one batch per call for a whole server plan, with absolute names and SRV targets', async () => {
    const records = planServerRecords({
      domain: `alice.${zone}`,
      nodeAddress: '2001:db8::7',
      ports: { c2s: 15222, c2sDirectTls: 15223, s2s: 15269, https: 15443 },
      federation: true,
    });
    await dns.addRecords(zone, records);
    expect(fake.count('ChangeResourceRecordSets')).toBe(1);
    expect(fake.rrset(`_xmpp-client._tcp.alice.${zone}`, 'SRV')?.values).toEqual([`0 5 15222 alice.${zone}.`]);
    const listed = await dns.listRecords(zone);
    for (const record of records) expect(listed).toContainEqual(record);
    await dns.removeRecords(zone, records);
    expect((await dns.listRecords(zone)).filter((r) => r.name.endsWith(`alice.${zone}`))).toEqual([]);
  });

  it('lists the whole zone across pages, without SOA and NS', async () => {
    const records = Array.from({ length: 350 }, (_, i) => txt(`page-${String(i).padStart(3, '0')}`, `v${i}`));
    for (let i = 0; i < records.length; i += 100) await dns.addRecords(zone, records.slice(i, i + 100));
    const listed = await dns.listRecords(zone);
    expect(listed).toHaveLength(350);
    expect(listed.some((r) => (r.type as string) === 'SOA' || (r.type as string) === 'NS')).toBe(false);
    expect(fake.count('ListResourceRecordSets')).toBeGreaterThan(1);
  });

  it('serialises concurrent adds to one zone: all land, and Route 53 never saw two changes at once', async () => {
    fake.changeLatencyMs = 10;
    const records = Array.from({ length: 12 }, (_, i) => txt(i % 2 === 0 ? 'busy' : `busy-${i}`, `value-${i}`));
    await Promise.all(records.map((record) => dns.addRecords(zone, [record])));
    const listed = await dns.listRecords(zone);
    for (const record of records) expect(listed).toContainEqual(record);
    expect(fake.requests.filter((r) => r.error === 'PriorRequestNotComplete')).toEqual([]);
  });

  it('backs off on Throttling and then succeeds', async () => {
    fake.failNext(3, 'Throttling', 'ChangeResourceRecordSets');
    await dns.addRecords(zone, [txt('throttled', 'v')]);
    expect(fake.requests.filter((r) => r.operation === 'ChangeResourceRecordSets').map((r) => r.error ?? r.status)).toEqual([
      'Throttling',
      'Throttling',
      'Throttling',
      200,
    ]);
    expect(fake.rrset(`throttled.${zone}`, 'TXT')?.values).toEqual(['"v"']);
  });

  it('backs off on PriorRequestNotComplete and then succeeds', async () => {
    fake.failNext(2, 'PriorRequestNotComplete', 'ChangeResourceRecordSets');
    await dns.addRecords(zone, [txt('prior', 'v')]);
    expect(fake.requests.filter((r) => r.operation === 'ChangeResourceRecordSets').map((r) => r.error ?? r.status)).toEqual([
      'PriorRequestNotComplete',
      'PriorRequestNotComplete',
      200,
    ]);
  });

  it('retries reads and polls that are throttled too', async () => {
    fake.failNext(1, 'Throttling', 'ListResourceRecordSets');
    fake.failNext(1, 'Throttling', 'GetChange');
    await dns.addRecords(zone, [txt('read-throttled', 'v')]);
    expect(fake.rrset(`read-throttled.${zone}`, 'TXT')?.values).toEqual(['"v"']);
  });

  it('gives up after a bounded number of attempts, saying so', async () => {
    const limited = provider({ retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2 } });
    await limited.ping();
    fake.failNext(10, 'Throttling', 'ChangeResourceRecordSets');
    await expect(limited.addRecords(zone, [txt('never', 'v')])).rejects.toThrow(/failed after 4 attempts: Throttling: Rate exceeded$/);
    expect(fake.count('ChangeResourceRecordSets')).toBe(4);
  });

  it('waits for INSYNC: resolves only after the PENDING polls', async () => {
    fake.pendingPolls = 3;
    await dns.addRecords(zone, [txt('pending', 'v')]);
    const polls = fake.requests.filter((r) => r.operation === 'GetChange');
    expect(polls).toHaveLength(4);
    expect(fake.requests.at(-1)?.operation).toBe('GetChange');
  });

  it('fails clearly when the change does not reach INSYNC in time', async () => {
    fake.pendingPolls = 1_000;
    const impatient = provider({ sync: { intervalMs: 5, timeoutMs: 60 } });
    await expect(impatient.addRecords(zone, [txt('slow', 'v')])).rejects.toThrow(/Route 53 change \/change\/C\d+ is still PENDING after 60 ms/);
  });

  it('checks the zone argument against the hosted zone once, and refuses another zone', async () => {
    await dns.addRecords(zone, [txt('a', '1')]);
    await dns.addRecords(zone, [txt('b', '2')]);
    await dns.listRecords(zone);
    expect(fake.count('GetHostedZone')).toBe(1);
    await expect(dns.addRecords('other.test', [{ name: 'x.other.test', type: 'TXT', ttl: 60, value: 'v' }])).rejects.toThrow(
      `Route 53 hosted zone ${fake.hostedZoneId} is parley.test., not other.test.: set ROUTE53_HOSTED_ZONE_ID to the hosted zone of other.test.`,
    );
    expect(fake.count('ChangeResourceRecordSets')).toBe(2);
  });

  it('a wrong hosted zone id says which setting to fix', async () => {
    const wrong = provider({ hostedZoneId: 'ZWRONG' });
    await expect(wrong.ping()).rejects.toThrow(/no such hosted zone: check ROUTE53_HOSTED_ZONE_ID/);
  });

  it('an endpoint that is down says so', async () => {
    const down = new Route53DnsProvider({
      client: createRoute53Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:1', credentials }),
      hostedZoneId: fake.hostedZoneId,
      zone,
      retry: { maxAttempts: 1 },
    });
    await expect(down.ping()).rejects.toThrow(/Route 53 is not reachable: check the network and ROUTE53_ENDPOINT \(Error: connect ECONNREFUSED/);
  });
});

describe('the fake Route 53 checks what it receives', () => {
  beforeEach(async () => {
    fake = await FakeRoute53.start({ zone });
  });

  afterEach(async () => {
    await fake.close();
  });

  async function send(changes: Change[]): Promise<string> {
    try {
      await client().send(new ChangeResourceRecordSetsCommand({ HostedZoneId: fake.hostedZoneId, ChangeBatch: { Changes: changes } }));
      return 'accepted';
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message}`;
    }
  }

  const upsert = (Name: string, Type: 'TXT' | 'SRV' | 'A', value: string): Change => ({
    Action: 'UPSERT',
    ResourceRecordSet: { Name, Type, TTL: 60, ResourceRecords: [{ Value: value }] },
  });
  const withoutTtl: Change = { Action: 'UPSERT', ResourceRecordSet: { Name: 'a.parley.test.', Type: 'TXT', ResourceRecords: [{ Value: '"v"' }] } };

  it.each([
    ['an unquoted TXT value', [upsert('a.parley.test.', 'TXT', 'bare')], /InvalidChangeBatch: .*enclosed in quotation marks/],
    ['a relative name', [upsert('a.parley.test', 'TXT', '"v"')], /InvalidChangeBatch: .*must be absolute/],
    ['a name outside the zone', [upsert('a.example.com.', 'TXT', '"v"')], /not permitted in zone parley\.test\./],
    ['an SRV value without its target dot', [upsert('_x._tcp.parley.test.', 'SRV', '0 5 5222 alice.parley.test')], /priority weight port target/],
    ['a missing TTL', [withoutTtl], /InvalidInput: .*TTL, and ResourceRecords/],
    ['two changes to one record set', [upsert('a.parley.test.', 'TXT', '"v"'), upsert('a.parley.test.', 'TXT', '"w"')], /invalid set of changes/],
  ])('refuses %s and records it', async (_, changes, expected) => {
    expect(await send(changes)).toMatch(expected);
    expect(fake.malformed).toHaveLength(1);
    expect(fake.rrset('a.parley.test', 'TXT')).toBeUndefined();
  });

  it('refuses XML outside the Route 53 namespace, or not well-formed', async () => {
    // Signed in shape (the fake does not verify signatures), with bodies the SDK would never send.
    const post = async (body: string) => {
      const authorization = `AWS4-HMAC-SHA256 Credential=AKIAFAKE/20260101/us-east-1/route53/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`;
      const response = await fetch(`${fake.url}/2013-04-01/hostedzone/${fake.hostedZoneId}/rrset`, {
        method: 'POST',
        headers: { Authorization: authorization, 'X-Amz-Date': '20260101T000000Z', 'Content-Type': 'application/xml' },
        body,
      });
      return `${response.status} ${await response.text()}`;
    };
    const change = '<ChangeBatch><Changes><Change><Action>UPSERT</Action><ResourceRecordSet><Name>a.parley.test.</Name><Type>TXT</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>"v"</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch>';
    expect(await post(`<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2012-12-12/">${change}</ChangeResourceRecordSetsRequest>`)).toMatch(
      /^400 .*InvalidInput.*namespace/s,
    );
    expect(await post(`<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">${change}</ChangeResourceRecordsRequest>`)).toMatch(
      /^400 .*InvalidInput.*closes/s,
    );
    expect(await post(`<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">${change.replace('"v"', '"a & b"')}</ChangeResourceRecordSetsRequest>`)).toMatch(
      /^400 .*InvalidInput.*reference/s,
    );
    expect(fake.malformed.map((m) => m.code)).toEqual(['InvalidInput', 'InvalidInput', 'InvalidInput']);
  });

  it('refuses an unsigned request', async () => {
    const response = await fetch(`${fake.url}/2013-04-01/hostedzone/${fake.hostedZoneId}`);
    expect(response.status).toBe(403);
    expect(fake.malformed.map((m) => m.code)).toEqual(['IncompleteSignature']);
  });

  it('applies Route 53 semantics: CREATE of an existing set and an inexact DELETE are refused, not recorded as malformed', async () => {
    fake.seed('a.parley.test', 'TXT', 60, ['"v"']);
    const create: Change = { Action: 'CREATE', ResourceRecordSet: { Name: 'a.parley.test.', Type: 'TXT', TTL: 60, ResourceRecords: [{ Value: '"w"' }] } };
    const inexactDelete: Change = { Action: 'DELETE', ResourceRecordSet: { Name: 'a.parley.test.', Type: 'TXT', TTL: 300, ResourceRecords: [{ Value: '"v"' }] } };
    expect(await send([create])).toMatch(/InvalidChangeBatch: \[Tried to create resource record set \[name='a\.parley\.test\.', type='TXT'\] but it already exists\]/);
    expect(await send([inexactDelete])).toMatch(/values provided do not match the current values/);
    expect(fake.rrset('a.parley.test', 'TXT')?.values).toEqual(['"v"']);
    expect(fake.malformed).toEqual([]);
  });
});
