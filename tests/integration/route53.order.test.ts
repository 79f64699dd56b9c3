import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { ChangeResourceRecordSetsCommand, type Change } from '@aws-sdk/client-route-53';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { PowerDnsProvider } from '../../worker/src/adapters/powerdns.dns-provider.js';
import { createRoute53Client } from '../../worker/src/adapters/route53.dns-provider.js';
import { loadWorkerConfig, type WorkerConfig } from '../../worker/src/config.js';
import type { DnsRecord } from '../../worker/src/ports/dns-provider.js';
import { acmeChallengeName, certificateNames, planServerRecords } from '../../worker/src/provisioning/dns-plan.js';
import { serverPorts } from '../../worker/src/provisioning/steps/allocate.step.js';
import { expectEvery } from '../support/expect-every.js';
import { changeBatchSize, FakeRoute53, ROUTE53_CHANGE_LIMITS, type FakeChange, type FakeRrset, type LoggedRequest } from '../support/fake-route53.js';
import { pebbleIssuers } from '../support/pebble.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { childProcessEnv, testEnv } from '../support/test-env.js';
import { connectAs } from '../support/xmpp.js';

// A whole order on the production DNS path: the worker's Route 53 adapter as createDnsProvider
// builds it from the configuration's defaults, against the local Route 53 endpoint (Route 53
// itself cannot be reached from here). There is no separate provider for ACME challenges: the
// DNS-01 answers go into the platform zone through the same adapter, and Pebble asks PowerDNS
// for them, so the fake serves what it accepts on PowerDNS as Route 53's name servers would.

const env = testEnv();
const zone = env.PLATFORM_ZONE;
const credentials = { accessKeyId: 'AKIAFAKEPARLEYTEST00', secretAccessKey: 'fake-secret-for-the-local-endpoint' };
const nameServers = { apiUrl: env.PDNS_API_URL, apiKey: env.PDNS_API_KEY, serverId: 'localhost' };

/** The settings behind `config.dns` and `config.timeouts` that have defaults: left unset, so the schema gives production's. */
const DEFAULTED = ['AWS_REGION', 'DNS_API_TIMEOUT_MS', 'DNS_PROPAGATION_TIMEOUT_MS', 'SERVICE_START_TIMEOUT_MS', 'ACME_HTTP_TIMEOUT_MS', 'DOCKER_API_TIMEOUT_MS'];

/** The adapter's own GetChange interval (route53.dns-provider.ts), which createDnsProvider does not set. */
const PRODUCTION_SYNC_INTERVAL_MS = 2_000;
/** A timer may fire a few ms early against the wall clock; a poll late by a second means another interval. */
const TIMER_SLACK_MS = 25;
const LATE_POLL_MS = 1_000;

/** The worker's configuration from the environment with only what the fake needs set: the endpoint and hosted zone id. */
function productionConfig(fake: FakeRoute53): WorkerConfig {
  const inherited = Object.fromEntries(Object.entries(childProcessEnv()).filter(([key]) => !DEFAULTED.includes(key)));
  return loadWorkerConfig({ ...inherited, DNS_PROVIDER: 'route53', ROUTE53_HOSTED_ZONE_ID: fake.hostedZoneId, ROUTE53_ENDPOINT: fake.url });
}

const rrsetKey = (rrset: { name: string; type: string }) => `${rrset.name} ${rrset.type}`;
const byKey = (rrsets: readonly FakeRrset[]) => [...rrsets].sort((a, b) => rrsetKey(a).localeCompare(rrsetKey(b)));

/** The plan's records as Route 53 record sets: absolute names, values grouped per name and type. */
function asRrsets(records: readonly DnsRecord[]): FakeRrset[] {
  const rrsets = new Map<string, FakeRrset>();
  for (const record of records) {
    const rrset = rrsets.get(rrsetKey({ name: `${record.name}.`, type: record.type })) ?? { name: `${record.name}.`, type: record.type, ttl: record.ttl, values: [] };
    rrset.values.push(record.value);
    rrsets.set(rrsetKey(rrset), rrset);
  }
  return byKey([...rrsets.values()]);
}

const batchesIn = (requests: readonly LoggedRequest[]) => requests.filter((r) => r.operation === 'ChangeResourceRecordSets');
const changesIn = (requests: readonly LoggedRequest[]): FakeChange[] => batchesIn(requests).flatMap((r) => r.changes ?? []);

/** Every batch accepted and within Route 53's limits, each change polled until INSYNC at the production interval. */
function expectProductionChanges(requests: readonly LoggedRequest[]): void {
  const batches = batchesIn(requests);
  expectEvery(batches, (batch) => batch.status === 200 && batch.changeId !== undefined, 'change batches accepted');
  expectEvery(
    batches,
    (batch) => {
      const size = changeBatchSize(batch.changes ?? []);
      return size.changes <= ROUTE53_CHANGE_LIMITS.changes && size.resourceRecords <= ROUTE53_CHANGE_LIMITS.resourceRecords && size.valueCharacters <= ROUTE53_CHANGE_LIMITS.valueCharacters;
    },
    "change batches within Route 53's limits",
  );
  for (const batch of batches) {
    const polls = requests.filter((r) => r.operation === 'GetChange' && r.changeId === batch.changeId);
    // The fake answers PENDING once: one wait of the adapter's interval, then INSYNC and no more polls.
    expect(polls.map((poll) => poll.changeStatus), `GetChange answers for ${batch.changeId ?? ''}`).toEqual(['PENDING', 'INSYNC']);
    const gaps = polls.slice(1).map((poll, i) => poll.at - (polls[i]?.at ?? Number.NaN));
    for (const gap of gaps) {
      expect(gap, `ms between polls of ${batch.changeId ?? ''}`).toBeGreaterThanOrEqual(PRODUCTION_SYNC_INTERVAL_MS - TIMER_SLACK_MS);
      expect(gap, `ms between polls of ${batch.changeId ?? ''}`).toBeLessThan(PRODUCTION_SYNC_INTERVAL_MS + LATE_POLL_MS);
    }
  }
}

// One order's life, in order: provisioned, then used, then deprovisioned.
describe('a whole order on the Route 53 adapter at its production settings', { shuffle: false }, () => {
  let fake: FakeRoute53;
  let production: WorkerConfig;
  let harness: ProvisioningHarness;
  let serverId: string;
  let domain: string;
  let initial: FakeRrset[];
  let plan: DnsRecord[];
  const resolver = new Resolver();
  resolver.setServers([env.DNS_RESOLVER]);

  beforeAll(async () => {
    // The product passes no credentials: the SDK's default chain reads them from the environment.
    vi.stubEnv('AWS_ACCESS_KEY_ID', credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', credentials.secretAccessKey);
    // Each change is PENDING at its first poll, so the adapter waits its interval once per change.
    fake = await FakeRoute53.start({ zone, pendingPolls: 1, nameServers });
    production = productionConfig(fake);
    harness = await ProvisioningHarness.create(40_500, { configure: (config) => ({ ...config, dns: production.dns, timeouts: production.timeouts }) });
    initial = fake.allRrsets();
    ({ serverId, domain } = await harness.placeOrder());
  });

  afterAll(async () => {
    // The harness withdraws the node's records through the worker's provider: the fake goes last.
    await harness?.close();
    await fake?.close();
    vi.unstubAllEnvs();
  });

  afterEach(() => {
    expect(fake.malformed).toEqual([]);
    expect(fake.nameServerErrors).toEqual([]);
    expect(fake.requests.filter((r) => r.operation === 'Unknown')).toEqual([]);
  });

  it('runs the worker on the Route 53 adapter with the default timeouts, pointed at the local endpoint', () => {
    expect(production.dns).toMatchObject({ kind: 'route53', hostedZoneId: fake.hostedZoneId, endpoint: fake.url });
    expect(harness.config.dns).toEqual(production.dns);
    expect(harness.config.timeouts).toEqual(production.timeouts);
  });

  it("provisions it through Route 53: DNS-01 answers published and withdrawn, then the server's records", async () => {
    await harness.provision(serverId);
    await harness.waitForState(serverId, 'ready', 240_000);

    const server = await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId }, include: { node: true } });
    const ports = await serverPorts(harness.prisma, serverId);
    plan = planServerRecords({
      domain,
      nodeAddress: server.node?.publicAddress ?? '',
      ports: { c2s: ports.c2s, c2sDirectTls: ports.c2s_direct_tls, s2s: ports.s2s, https: ports.https },
      federation: server.federation,
    });
    // The zone holds what it held before and the server's record sets, exactly as planned; no challenge is left.
    expect(byKey(fake.allRrsets())).toEqual(byKey([...initial, ...asRrsets(plan)]));

    const changes = changesIn(fake.requests);
    const challengeNames = certificateNames(domain).map((name) => `${acmeChallengeName(name)}.`);
    const serverNames = new Set([...plan.map((record) => `${record.name}.`), ...challengeNames]);
    expectEvery(changes, (change) => serverNames.has(change.rrset.name), "changes to the server's names");
    for (const name of challengeNames) {
      expect(changes.filter((c) => c.rrset.name === name).map((c) => `${c.action} ${c.rrset.type}`), name).toEqual(['UPSERT TXT', 'DELETE TXT']);
    }
    const recordBatches = batchesIn(fake.requests).filter((batch) => batch.changes?.some((c) => c.rrset.type !== 'TXT'));
    expect(recordBatches.map((batch) => byKey((batch.changes ?? []).map((c) => c.rrset)))).toEqual([asRrsets(plan)]);
    expectEvery(recordBatches[0]?.changes ?? [], (c) => c.action === 'UPSERT', "the server's record sets upserted");
    expectProductionChanges(fake.requests);
  }, 300_000);

  it('is found through DNS and a real client logs in, verifying the certificate issued through DNS-01', async () => {
    const ports = await serverPorts(harness.prisma, serverId);
    const srv = await resolver.resolveSrv(`_xmpp-client._tcp.${domain}`);
    expect(srv).toEqual([{ name: domain, port: ports.c2s, priority: 0, weight: 5 }]);
    const addresses = await resolver.resolve4(domain);
    expect(addresses).toEqual(plan.filter((record) => record.name === domain && record.type === 'A').map((record) => record.value));

    const { root } = await pebbleIssuers();
    const admin = await harness.adminPassword(serverId);
    const session = await connectAs({
      host: addresses[0] ?? '',
      port: srv[0]?.port ?? 0,
      domain,
      username: admin.jid.split('@')[0] ?? '',
      password: admin.password,
      trustedCaPems: [root.toString()],
      timeoutMs: 15_000,
    });
    try {
      expect(session.jid.startsWith(`${admin.jid}/`)).toBe(true);
    } finally {
      await session.close();
    }
  });

  it('deprovisioning deletes every record set of the server in Route 53, exactly as it is, and nothing else', async () => {
    const from = fake.requests.length;
    await harness.deprovision(serverId);
    await harness.waitForState(serverId, 'deleted', 120_000);

    const requests = fake.requests.slice(from);
    const changes = changesIn(requests);
    expectEvery(changes, (change) => change.action === 'DELETE', 'changes of the deletion');
    // A DELETE names the whole current set, TTL and values: these are the record sets provisioning made.
    expect(byKey(changes.map((change) => change.rrset))).toEqual(asRrsets(plan));
    expect(fake.allRrsets()).toEqual(initial);
    expectProductionChanges(requests);
    await expect(resolver.resolveSrv(`_xmpp-client._tcp.${domain}`)).rejects.toMatchObject({ code: expect.stringMatching(/^(ENOTFOUND|ENODATA)$/) as unknown });
  }, 180_000);
});

describe("the fake's name servers and Route 53's limits on a batch", () => {
  let fake: FakeRoute53;
  const resolver = new Resolver();
  resolver.setServers([env.DNS_RESOLVER]);
  const powerDns = new PowerDnsProvider({ ...nameServers, zone });

  beforeEach(async () => {
    fake = await FakeRoute53.start({ zone, nameServers });
  });

  afterEach(async () => {
    await fake.close();
  });

  async function send(changes: Change[]): Promise<string> {
    try {
      const client = createRoute53Client({ region: 'us-east-1', endpoint: fake.url, credentials });
      await client.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: fake.hostedZoneId, ChangeBatch: { Changes: changes } }));
      return 'accepted';
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message}`;
    }
  }

  const txt = (Action: 'UPSERT' | 'DELETE', Name: string, Value: string): Change => ({ Action, ResourceRecordSet: { Name, Type: 'TXT', TTL: 60, ResourceRecords: [{ Value }] } });

  it('serves what it accepted, with Route 53 escapes read as Route 53 means them, and withdraws it on delete', async () => {
    const name = `mirror-${randomBytes(4).toString('hex')}.${zone}`;
    // \041 is "!" in Route 53's octal; read as decimal it would be ")".
    expect(await send([txt('UPSERT', `${name}.`, '"hi\\041"')])).toBe('accepted');
    expect(await resolver.resolveTxt(name)).toEqual([['hi!']]);
    expect(await send([txt('DELETE', `${name}.`, '"hi\\041"')])).toBe('accepted');
    await expect(resolver.resolveTxt(name)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(fake.malformed).toEqual([]);
  });

  it('accepts nothing that would overwrite a record set it did not write on the name servers', async () => {
    const theirs: DnsRecord = { name: `foreign-${randomBytes(4).toString('hex')}.${zone}`, type: 'TXT', ttl: 60, value: 'theirs' };
    await powerDns.addRecords(zone, [theirs]);
    try {
      expect(await send([txt('UPSERT', `${theirs.name}.`, '"ours"')])).toMatch(/^InternalFailure: .*PowerDNS already serves TXT .*which this fake did not write/);
      expect(fake.nameServerErrors).toHaveLength(1);
      expect(fake.rrset(theirs.name, 'TXT')).toBeUndefined();
      expect(await powerDns.listRecords(zone, theirs.name)).toEqual([theirs]);
    } finally {
      await powerDns.removeRecords(zone, [theirs]);
    }
  });

  it.each([
    ['more than 1000 records (an UPSERT counts twice)', Array.from({ length: 501 }, (_, i) => txt('UPSERT', `r${i}.${zone}.`, '"v"')), /Number of records limit of 1000 exceeded/],
    ['more than 32000 characters of values (an UPSERT counts twice)', [txt('UPSERT', `big.${zone}.`, Array.from({ length: 63 }, () => `"${'x'.repeat(255)}"`).join(' '))], /RDATA character limit of 32000 exceeded/],
  ])('refuses a batch of %s, as malformed, and serves none of it', async (_, changes, expected) => {
    expect(await send(changes)).toMatch(expected);
    expect(fake.malformed.map((m) => m.code)).toEqual(['InvalidChangeBatch']);
    expect(fake.allRrsets().map((rrset) => rrset.type)).toEqual(['NS', 'SOA']);
  });
});
