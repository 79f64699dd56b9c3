import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { domainToASCII } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../api/src/auth/principal.js';
import { checkCustomDomain, checkRecord, planDomainRecords, statusAfterCheck, type PlannedRecord } from '../../api/src/domains/domain-records.js';
import { customDomainHost, delegatedChallengeName } from '../../worker/src/contracts/custom-domain.js';
import { requireVerifiedDomain } from '../../api/src/domains/verified-domain.js';
import { certificateNames } from '../../worker/src/provisioning/dns-plan.js';
import { PROVISIONING_QUEUE, stepJobId } from '../../worker/src/contracts/provisioning.js';
import { startApiHarness, withCookie, withToken, type ApiHarness, type TestAccount } from '../support/api-harness.js';
import { testEnv } from '../support/test-env.js';
import { expectEvery } from '../support/expect-every.js';

interface RecordDto {
  name: string;
  type: 'TXT' | 'CNAME' | 'SRV';
  value: string | null;
  purpose: string;
  required: boolean;
  description: string;
  check: { expected: string; found: string[]; ok: boolean; message: string } | null;
}
interface DomainDto {
  id: string;
  accountId: string;
  name: string;
  status: 'pending' | 'verified' | 'failed' | 'expired';
  statusDetail: string;
  expiresAt: string | null;
  verifiedAt: string | null;
  lastCheckedAt: string | null;
  createdAt: string;
  records: RecordDto[];
}
interface Problem {
  status: number;
  title: string;
  detail: string;
  errors?: { in: string; field: string; message: string }[];
}

const ZONE = 'parley.test';
const DAY_MS = 24 * 60 * 60 * 1000;
const ID = '01900000-0000-7000-8000-00000000abcd';
const HEX = ID.replaceAll('-', '');

describe('the record plan (pure)', () => {
  const plan = (server?: Parameters<typeof planDomainRecords>[0]['server']) =>
    planDomainRecords({ id: ID, name: 'chat.example.com', verificationToken: 'tok123', platformZone: ZONE, server });
  const byName = (records: PlannedRecord[], name: string, type = 'SRV') => records.find((r) => r.name === name && r.type === type)!;

  it('asks for an ownership TXT, _acme-challenge CNAMEs into the platform zone, and informational SRV and upload records', () => {
    const records = plan();
    expect(records.map((r) => [r.type, r.name, r.value, r.required])).toEqual([
      ['TXT', '_parley-verify.chat.example.com', 'parley-verification=tok123', true],
      ['CNAME', '_acme-challenge.chat.example.com', `${HEX}.acme.${ZONE}.`, true],
      ['CNAME', '_acme-challenge.conference.chat.example.com', `conference.${HEX}.acme.${ZONE}.`, true],
      ['CNAME', '_acme-challenge.upload.chat.example.com', `upload.${HEX}.acme.${ZONE}.`, true],
      ['SRV', '_xmpp-client._tcp.chat.example.com', null, false],
      ['SRV', '_xmpps-client._tcp.chat.example.com', null, false],
      ['SRV', '_xmpp-server._tcp.chat.example.com', null, false],
      ['SRV', '_xmpp-server._tcp.conference.chat.example.com', null, false],
      ['CNAME', 'upload.chat.example.com', `${HEX}.domains.${ZONE}.`, false],
    ]);
    const srv = byName(records, '_xmpp-client._tcp.chat.example.com');
    expect(srv.description).toContain('port is assigned when you order a server');
    expect(srv.description).toContain('Informational');
    expect(srv.expected).toBe(`0 5 <port> ${HEX}.domains.${ZONE}.`);
  });

  it('delegates the challenge of every name the certificate covers, as the worker will look it up', () => {
    const records = plan();
    for (const name of certificateNames('chat.example.com')) {
      const target = delegatedChallengeName({ id: ID, name: 'chat.example.com' }, name, ZONE);
      expect(target.endsWith(`.acme.${ZONE}`)).toBe(true);
      expect(records).toContainEqual(expect.objectContaining({ name: `_acme-challenge.${name}`, type: 'CNAME', value: `${target}.`, required: true }));
    }
    expect(() => delegatedChallengeName({ id: ID, name: 'chat.example.com' }, 'evil.com', ZONE)).toThrow(/not chat.example.com/);
    expect(() => delegatedChallengeName({ id: ID, name: 'chat.example.com' }, 'a.b.chat.example.com', ZONE)).toThrow();
  });

  it('fills in the SRV ports once a server on the domain has them', () => {
    const records = plan({ federation: true, ports: { c2s: 20001, c2sDirectTls: 20002, s2s: 20003 } });
    const host = customDomainHost(ID, ZONE);
    expect(byName(records, '_xmpp-client._tcp.chat.example.com').value).toBe(`0 5 20001 ${host}.`);
    expect(byName(records, '_xmpps-client._tcp.chat.example.com').value).toBe(`0 5 20002 ${host}.`);
    expect(byName(records, '_xmpp-server._tcp.conference.chat.example.com').value).toBe(`0 5 20003 ${host}.`);
  });

  it('says what was found and what to fix', () => {
    const [txt, cname, , , srv] = plan();
    expect(checkRecord(txt!, { kind: 'found', values: ['parley-verification=abc'] }).message).toBe(
      'Found `parley-verification=abc`, expected `parley-verification=tok123`: replace the TXT value.',
    );
    expect(checkRecord(txt!, { kind: 'found', values: ['v=spf1 -all', 'parley-verification=tok123'] })).toMatchObject({ ok: true });
    expect(checkRecord(txt!, { kind: 'found', values: ['v=spf1 -all'] }).message).toContain('add a TXT value `parley-verification=tok123`');
    expect(checkRecord(txt!, { kind: 'none' })).toMatchObject({
      ok: false,
      found: [],
      message: expect.stringContaining('Not found: create a TXT record at `_parley-verify.chat.example.com` with the value `parley-verification=tok123`') as string,
    });
    expect(checkRecord(cname!, { kind: 'found', values: [`${HEX}.ACME.${ZONE.toUpperCase()}.`] }).ok).toBe(true);
    expect(checkRecord(cname!, { kind: 'found', values: ['elsewhere.example.'] }).message).toBe(
      `Found \`elsewhere.example.\`, expected \`${HEX}.acme.${ZONE}.\`: change the CNAME's target.`,
    );
    expect(checkRecord(cname!, { kind: 'failed', code: 'ESERVFAIL' }).message).toContain('The lookup failed (SERVFAIL)');
    // Before a server exists any port passes: only the target can be checked.
    expect(checkRecord(srv!, { kind: 'found', values: [`0 5 5222 ${HEX}.domains.${ZONE}.`] })).toMatchObject({ ok: true });
    expect(checkRecord(srv!, { kind: 'found', values: ['0 5 5222 xmpp.example.com.'] }).message).toContain("change the record's target");
    expect(checkRecord(srv!, { kind: 'none' }).message).toBe('Not found: create it when you order a server on this domain (the port is assigned then).');
  });

  it('is verified when every required record is right; a verified domain that breaks is failed', () => {
    const records = plan();
    const checks = (ok: boolean) => records.map((r) => checkRecord(r, ok ? { kind: 'found', values: [r.value ?? `0 5 1 ${HEX}.domains.${ZONE}.`] } : { kind: 'none' }));
    const requiredOnly = records.map((r) => checkRecord(r, r.required ? { kind: 'found', values: [r.value!] } : { kind: 'none' }));
    expect(statusAfterCheck(records, checks(true), 'pending')).toBe('verified');
    expect(statusAfterCheck(records, requiredOnly, 'pending')).toBe('verified');
    expect(statusAfterCheck(records, checks(false), 'pending')).toBe('pending');
    expect(statusAfterCheck(records, checks(false), 'verified')).toBe('failed');
    expect(statusAfterCheck(records, checks(true), 'failed')).toBe('verified');
  });

  it('refuses the platform zone and names too long for the records', () => {
    expect(checkCustomDomain('Chat.Example.COM.', ZONE)).toEqual({ ok: true, domain: 'chat.example.com' });
    expect(checkCustomDomain('alice.parley.test', ZONE)).toMatchObject({ ok: false, reason: expect.stringContaining('inside parley.test') as string });
    expect(checkCustomDomain('parley.test', ZONE).ok).toBe(false);
    expect(checkCustomDomain('notparley.test', ZONE).ok).toBe(true);
    const long = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(40)}.com`;
    expect(checkCustomDomain(long, ZONE)).toMatchObject({ ok: false, reason: expect.stringContaining('at most 224 characters') as string });
  });
});

// Against the real API and the sandbox's PowerDNS, which plays the customer's DNS host: this file
// creates its own zone there and deletes it afterwards.
describe('custom domains through the API, verified with real DNS', () => {
  const zone = `c${randomBytes(5).toString('hex')}.example`;
  let harness: ApiHarness;
  let alice: TestAccount;
  let bob: TestAccount;
  let seq = 0;
  const nextName = () => `d${++seq}.${zone}`;

  function pdns(path: string, init: RequestInit = {}): Promise<Response> {
    const { PDNS_API_URL, PDNS_API_KEY } = testEnv();
    return fetch(`${PDNS_API_URL.replace(/\/$/, '')}/api/v1/servers/localhost${path}`, {
      ...init,
      headers: { 'X-API-Key': PDNS_API_KEY, 'Content-Type': 'application/json' },
      signal: AbortSignal.timeout(10_000),
    });
  }

  /** What the customer does at their DNS host. */
  async function putRecord(name: string, type: string, contents: string[]): Promise<void> {
    const response = await pdns(`/zones/${zone}.`, {
      method: 'PATCH',
      body: JSON.stringify({ rrsets: [{ name: `${name}.`, type, ttl: 60, changetype: 'REPLACE', records: contents.map((content) => ({ content, disabled: false })) }] }),
    });
    expect(response.status, await response.text()).toBe(204);
  }

  /** Creates every required record as the plan says. */
  async function createRequired(domain: DomainDto): Promise<void> {
    for (const record of domain.records.filter((r) => r.required)) {
      await putRecord(record.name, record.type, [record.type === 'TXT' ? `"${record.value}"` : record.value!]);
    }
  }

  const add = (account: TestAccount, name: unknown) =>
    harness.inject({ method: 'POST', url: '/api/v1/domains', headers: withToken(account), payload: { name } });
  const get = (account: TestAccount, id: string) => harness.inject({ method: 'GET', url: `/api/v1/domains/${id}`, headers: withToken(account) });
  const verify = (account: TestAccount, id: string) =>
    harness.inject({ method: 'POST', url: `/api/v1/domains/${id}/verify`, headers: withToken(account), payload: {} });
  const remove = (account: TestAccount, id: string) => harness.inject({ method: 'DELETE', url: `/api/v1/domains/${id}`, headers: withCookie(account) });
  async function added(account: TestAccount, name = nextName()): Promise<DomainDto> {
    const answer = await add(account, name);
    expect(answer.statusCode, answer.body).toBe(201);
    return answer.json<DomainDto>();
  }
  const principal = (account: TestAccount): Principal => ({ accountId: account.id, role: 'customer', via: 'token' });
  const record = (domain: DomainDto, name: string, type = 'TXT') => domain.records.find((r) => r.name === name && r.type === type)!;
  /** Until `count` requests of the app wait for a row lock in the test's database. */
  async function waitingOnLocks(count: number): Promise<void> {
    for (let tries = 0; tries < 200; tries++) {
      const [row] = await harness.prisma.$queryRaw<{ waiting: number }[]>`
        SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
      if ((row?.waiting ?? 0) >= count) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`fewer than ${count} requests ever waited for a lock`);
  }

  beforeAll(async () => {
    harness = await startApiHarness();
    [alice, bob] = [await harness.signUp(), await harness.signUp()];
    const created = await pdns('/zones', { method: 'POST', body: JSON.stringify({ name: `${zone}.`, kind: 'Native', nameservers: [`ns1.${zone}.`] }) });
    expect(created.status, await created.text()).toBe(201);
  });

  afterAll(async () => {
    await pdns(`/zones/${zone}.`, { method: 'DELETE' });
    await harness?.close();
  });

  it('adds a domain in lower case with a random token, the records to create, and an audit row', async () => {
    const name = nextName();
    const domain = await added(alice, `${name.toUpperCase()}.`);
    expect(domain).toMatchObject({ accountId: alice.id, name, status: 'pending', verifiedAt: null, lastCheckedAt: null });
    expect(domain.statusDetail).toContain(`POST /api/v1/domains/${domain.id}/verify`);
    const row = await harness.prisma.domain.findUniqueOrThrow({ where: { id: domain.id } });
    expect(row.verificationToken).toMatch(/^[0-9a-f]{32}$/);
    expect(record(domain, `_parley-verify.${name}`).value).toBe(`parley-verification=${row.verificationToken}`);
    expect(record(domain, `_acme-challenge.${name}`, 'CNAME').value).toBe(`${domain.id.replaceAll('-', '')}.acme.${harness.config.platformZone}.`);
    expectEvery(domain.records, (r) => r.check === null);
    expect((await added(alice)).records[0]?.value).not.toBe(record(domain, `_parley-verify.${name}`).value);
    const audit = await harness.prisma.auditLog.findFirstOrThrow({ where: { action: 'domain.create', targetId: domain.id } });
    expect(audit).toMatchObject({ actorId: alice.id, targetType: 'domain', detail: { name } });
  });

  it.each([
    ['quotes', '"chat".example.com', 'is not a valid part of a domain name'],
    ['a platform subdomain', 'alice.parley.test', 'inside parley.test'],
    ['a single label', 'localhost', 'at least one dot'],
    ['raw unicode', 'раypal.com', 'punycode'],
    ['a punycode look-alike', domainToASCII('pаypal.com'), 'mixes alphabets'],
    ['a label starting with a hyphen', '-chat.example.com', 'not starting or ending with a hyphen'],
  ])('refuses %s with a 400 that says what to fix, and writes nothing', async (_case, name, hint) => {
    const before = [await harness.prisma.domain.count(), await harness.prisma.auditLog.count()];
    const answer = await add(alice, name);
    expect(answer.statusCode, answer.body).toBe(400);
    const problem = answer.json<Problem>();
    expect(problem.detail).toContain(hint);
    expect(problem.errors).toEqual([{ in: 'body', field: 'name', message: problem.detail }]);
    expect([await harness.prisma.domain.count(), await harness.prisma.auditLog.count()]).toEqual(before);
  });

  it('refuses a name its account already has, however spelled; another account may claim it too; it can be added again once deleted', async () => {
    const domain = await added(alice);
    const again = await add(alice, domain.name.toUpperCase());
    expect(again.statusCode).toBe(409);
    expect(again.json<Problem>().detail).toContain(`GET /api/v1/domains/${domain.id}`);
    expect(await added(bob, domain.name)).toMatchObject({ accountId: bob.id, status: 'pending' });

    expect((await remove(alice, domain.id)).statusCode).toBe(204);
    const readded = await added(alice, domain.name);
    expect(readded.id).not.toBe(domain.id);
    expect(record(readded, `_acme-challenge.${domain.name}`, 'CNAME').value).not.toBe(record(domain, `_acme-challenge.${domain.name}`, 'CNAME').value);
  });

  it('lets the real owner add and verify a name another account claimed first; the squatter\'s claim then blocks nothing and cannot be verified', async () => {
    const mallory = await harness.signUp();
    const name = nextName();
    const squat = await added(mallory, name);

    const owned = await added(bob, name);
    expect(owned.status).toBe('pending');
    await createRequired(owned);
    expect((await verify(bob, owned.id)).json<DomainDto>().status).toBe('verified');
    expect(await requireVerifiedDomain(harness.prisma, principal(bob), owned.id)).toEqual({ id: owned.id, name });

    // Even with its own records in DNS now, the squatter's claim cannot take the name over.
    await createRequired(squat);
    const refused = await verify(mallory, squat.id);
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json<Problem>()).toMatchObject({
      title: 'Domain verified by another account',
      detail: `Another account verified ${name} first, so this claim cannot be verified. If the domain is yours, contact support; otherwise delete this claim (DELETE /api/v1/domains/${squat.id}).`,
    });
    expect(await harness.prisma.domain.findUniqueOrThrow({ where: { id: squat.id } })).toMatchObject({ status: 'pending', lastCheckedAt: null });
    expect(await harness.prisma.auditLog.count({ where: { action: 'domain.verify', targetId: squat.id } })).toBe(0);
    expect((await get(bob, owned.id)).json<DomainDto>().status).toBe('verified');

    const late = await add(await harness.signUp(), name);
    expect(late.statusCode).toBe(409);
    expect(late.json<Problem>()).toMatchObject({ title: 'Domain verified by another account', errors: [{ in: 'body', field: 'name', message: 'is verified by another account' }] });
    expect(late.body).not.toContain(owned.id);
  });

  it('lets exactly one of two claims that verify the same name at the same time win', async () => {
    const carol = await harness.signUp();
    const name = nextName();
    const racers = [
      { account: bob, claim: await added(bob, name) },
      { account: carol, claim: await added(carol, name) },
    ];
    const claims = racers.map((r) => r.claim);

    // The test holds both rows, so each verification looks up its own records and then waits to
    // write: both are past every check when the locks go, and only the unique index can decide.
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const holding = harness.prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT id FROM domains WHERE id = ANY(${claims.map((c) => c.id)}::uuid[]) FOR UPDATE`;
        await released;
      },
      { timeout: 60_000 },
    );
    const verifying = [];
    for (const { account, claim } of racers) {
      await createRequired(claim);
      verifying.push(verify(account, claim.id));
      await waitingOnLocks(verifying.length);
    }
    release();
    await holding;
    const answers = await Promise.all(verifying);

    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409]);
    const loser = claims[answers.findIndex((a) => a.statusCode === 409)]!;
    expect(answers.find((a) => a.statusCode === 409)!.json<Problem>().detail).toContain(`Another account verified ${name} first`);
    expect(await harness.prisma.domain.findMany({ where: { name, status: 'verified' }, select: { id: true } })).toEqual([{ id: claims.find((c) => c !== loser)!.id }]);
    expect(await harness.prisma.domain.findUniqueOrThrow({ where: { id: loser.id } })).toMatchObject({ status: 'pending', lastCheckedAt: null });
  });

  it('expires a pending claim after DOMAIN_PENDING_TTL_DAYS: it cannot be verified, says to add it again, and adding it again replaces it', async () => {
    const dave = await harness.signUp();
    const name = nextName();
    const stale = await added(dave, name);
    expect(stale.expiresAt).toBe(new Date(Date.parse(stale.createdAt) + 7 * DAY_MS).toISOString());
    await createRequired(stale);
    await harness.prisma.domain.update({ where: { id: stale.id }, data: { createdAt: new Date(Date.now() - 7 * DAY_MS - 1000) } });

    const shown = (await get(dave, stale.id)).json<DomainDto>();
    expect(shown.status).toBe('expired');
    expect(shown.statusDetail).toContain('so this claim expired: it reserves nothing and cannot be verified. To use the domain, add it again (POST /api/v1/domains');
    const refused = await verify(dave, stale.id);
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json<Problem>()).toMatchObject({ title: 'Domain claim expired', detail: shown.statusDetail });
    expect(await harness.prisma.domain.findUniqueOrThrow({ where: { id: stale.id } })).toMatchObject({ status: 'pending', lastCheckedAt: null });

    const fresh = await added(dave, name);
    expect(fresh).toMatchObject({ status: 'pending', expiresAt: expect.any(String) as string });
    expect(record(fresh, `_parley-verify.${name}`).value).not.toBe(record(stale, `_parley-verify.${name}`).value);
    expect((await get(dave, stale.id)).statusCode).toBe(404);
    const audit = await harness.prisma.auditLog.findFirstOrThrow({ where: { action: 'domain.delete', targetId: stale.id } });
    expect(audit).toMatchObject({ actorId: dave.id, detail: { name, status: 'expired' } });

    // Only pending claims expire: a verified domain stays verified however old.
    await createRequired(fresh);
    expect((await verify(dave, fresh.id)).json<DomainDto>()).toMatchObject({ status: 'verified', expiresAt: null });
    await harness.prisma.domain.update({ where: { id: fresh.id }, data: { createdAt: new Date(Date.now() - 30 * DAY_MS) } });
    expect((await get(dave, fresh.id)).json<DomainDto>().status).toBe('verified');
  });

  it('refuses a pending domain over DOMAIN_PENDING_LIMIT, even in parallel, with a 409 that says what to do, and creates nothing', async () => {
    const erin = await harness.signUp();
    const answers = await Promise.all(Array.from({ length: 11 }, () => add(erin, nextName())));
    expect(answers.filter((a) => a.statusCode === 201)).toHaveLength(10);
    const refused = answers.find((a) => a.statusCode !== 201)!;
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json<Problem>()).toMatchObject({ title: 'Too many pending domains' });
    expect(refused.json<Problem>().detail).toContain('Verify one (POST /api/v1/domains/{id}/verify) or delete one you no longer need (DELETE /api/v1/domains/{id})');
    expect(await harness.prisma.domain.count({ where: { accountId: erin.id } })).toBe(10);
    expect(await harness.prisma.auditLog.count({ where: { actorId: erin.id, action: 'domain.create' } })).toBe(10);

    // An expired claim no longer counts.
    const [oldest] = answers.filter((a) => a.statusCode === 201).map((a) => a.json<DomainDto>());
    await harness.prisma.domain.update({ where: { id: oldest!.id }, data: { createdAt: new Date(Date.now() - 8 * DAY_MS) } });
    await added(erin);
    expect((await add(erin, nextName())).statusCode).toBe(409);
  });

  it('lists your domains newest first, page by page; gets one; another account\'s is a 404', async () => {
    const carol = await harness.signUp();
    const [first, second, third] = [await added(carol), await added(carol), await added(carol)];
    const page1 = await harness.inject({ method: 'GET', url: '/api/v1/domains?limit=2', headers: withToken(carol) });
    expect(page1.statusCode).toBe(200);
    const body1 = page1.json<{ items: DomainDto[]; nextCursor: string }>();
    expect(body1.items.map((d) => d.id)).toEqual([third.id, second.id]);
    const page2 = await harness.inject({ method: 'GET', url: `/api/v1/domains?limit=2&cursor=${body1.nextCursor}`, headers: withToken(carol) });
    expect(page2.json<{ items: DomainDto[]; nextCursor: string | null }>()).toMatchObject({ items: [{ id: first.id }], nextCursor: null });

    expect((await get(carol, first.id)).json<DomainDto>()).toEqual(first);
    const foreign = await get(bob, first.id);
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json<Problem>().detail).toContain('GET /api/v1/domains');
  });

  it('verifies before the records exist: every record "not found" with what to create, status stays pending', async () => {
    const domain = await added(alice);
    const answer = await verify(alice, domain.id);
    expect(answer.statusCode, answer.body).toBe(200);
    const checked = answer.json<DomainDto>();
    expect(checked.status).toBe('pending');
    expect(checked.lastCheckedAt).not.toBeNull();
    expect(checked.statusDetail).toContain('4 of 4 required records are missing or wrong');
    const txt = record(checked, `_parley-verify.${domain.name}`);
    expect(txt.check).toMatchObject({ ok: false, found: [], expected: txt.value });
    expect(txt.check?.message).toContain(`Not found: create a TXT record at \`${txt.name}\` with the value \`${txt.value}\``);
    expectEvery(checked.records, (r) => r.check?.ok === false);

    expect((await get(alice, domain.id)).json<DomainDto>()).toEqual(checked);
    const audit = await harness.prisma.auditLog.findFirstOrThrow({ where: { action: 'domain.verify', targetId: domain.id } });
    expect(audit.detail).toMatchObject({ status: 'pending', failing: expect.arrayContaining([`TXT _parley-verify.${domain.name}`]) as string[] });
  });

  it('verifies once the TXT and the _acme-challenge CNAMEs are in DNS; the SRV records are informational', async () => {
    const domain = await added(alice);
    await createRequired(domain);
    const host = customDomainHost(domain.id, harness.config.platformZone);
    await putRecord(`_xmpp-client._tcp.${domain.name}`, 'SRV', [`0 5 5222 ${host}.`]);

    const checked = (await verify(alice, domain.id)).json<DomainDto>();
    expect(checked.status, JSON.stringify(checked.records, null, 1)).toBe('verified');
    expect(checked.verifiedAt).not.toBeNull();
    expect(checked.statusDetail).toBe(`Verified: you can order a server on ${domain.name}.`);
    for (const required of checked.records.filter((r) => r.required)) expect(required.check?.ok, required.name).toBe(true);
    expect(record(checked, `_xmpp-client._tcp.${domain.name}`, 'SRV').check).toMatchObject({ ok: true, found: [`0 5 5222 ${host}.`] });
    expect(record(checked, `_xmpps-client._tcp.${domain.name}`, 'SRV').check).toMatchObject({ ok: false, message: expect.stringContaining('when you order a server') as string });

    expect(await requireVerifiedDomain(harness.prisma, principal(alice), domain.id)).toEqual({ id: domain.id, name: domain.name });
  });

  it('names what was found and what was expected for a wrong TXT value; a verified domain that breaks is failed', async () => {
    const domain = await added(alice);
    await createRequired(domain);
    expect((await verify(alice, domain.id)).json<DomainDto>().status).toBe('verified');

    const txt = record(domain, `_parley-verify.${domain.name}`);
    await putRecord(txt.name, 'TXT', ['"parley-verification=abc"']);
    const checked = (await verify(alice, domain.id)).json<DomainDto>();
    expect(checked.status).toBe('failed');
    expect(checked.statusDetail).toContain('1 of 4 required records is missing or wrong');
    expect(record(checked, txt.name).check).toEqual({
      expected: txt.value,
      found: ['parley-verification=abc'],
      ok: false,
      message: `Found \`parley-verification=abc\`, expected \`${txt.value}\`: replace the TXT value.`,
    });

    const refused = requireVerifiedDomain(harness.prisma, principal(alice), domain.id);
    await expect(refused).rejects.toMatchObject({ status: 409, detail: expect.stringContaining(`TXT ${txt.name}: Found \`parley-verification=abc\``) as string });
    await expect(refused).rejects.toMatchObject({ extra: { missing: [{ name: txt.name, type: 'TXT', expected: txt.value }] } });
  });

  it('lets the servers service order only on a verified domain of the caller\'s own', async () => {
    const domain = await added(alice);
    await expect(requireVerifiedDomain(harness.prisma, principal(alice), domain.id)).rejects.toMatchObject({
      status: 409,
      detail: expect.stringContaining(`create the required records shown by GET /api/v1/domains/${domain.id}`) as string,
    });
    await expect(requireVerifiedDomain(harness.prisma, principal(bob), domain.id)).rejects.toMatchObject({ status: 404 });
    await expect(requireVerifiedDomain(harness.prisma, principal(alice), 'not-a-uuid')).rejects.toMatchObject({ status: 404 });
  });

  it('orders a server on a verified domain over HTTP; an unverified, foreign or busy domain gets a 4xx saying what to do', async () => {
    const order = (account: TestAccount, payload: Record<string, unknown>) =>
      harness.inject({ method: 'POST', url: '/api/v1/servers', headers: withToken(account), payload: { federation: true, ...payload } });
    const domain = await added(alice);

    const unverified = await order(alice, { name: 'own', domainId: domain.id });
    expect(unverified.statusCode).toBe(409);
    expect(unverified.json<Problem>().detail).toContain(`create the required records shown by GET /api/v1/domains/${domain.id}`);
    const malformed = await order(alice, { name: 'own', domainId: 'example.com' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json<{ errors: { field: string; message: string }[] }>().errors).toEqual([
      { in: 'body', field: 'domainId', message: 'must be the id of one of your verified domains (GET /api/v1/domains)' },
    ]);

    await createRequired(domain);
    expect((await verify(alice, domain.id)).json<DomainDto>().status).toBe('verified');
    expect((await order(bob, { name: 'theirs', domainId: domain.id })).statusCode).toBe(404);
    expect(await harness.prisma.server.count({ where: { customDomainId: domain.id } })).toBe(0);

    const accepted = await order(alice, { name: 'own', domainId: domain.id });
    expect(accepted.statusCode, accepted.body).toBe(202);
    const server = accepted.json<{ id: string; name: string; domain: string }>();
    expect(server).toMatchObject({ name: 'own', domain: domain.name });
    expect(await harness.prisma.server.findUniqueOrThrow({ where: { id: server.id } })).toMatchObject({ domainKind: 'custom', customDomainId: domain.id });
    const connection = new Redis(harness.redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(PROVISIONING_QUEUE, { connection });
    try {
      expect(await queue.getJob(stepJobId(server.id, 'allocate'))).toBeDefined();
    } finally {
      await queue.close();
      connection.disconnect();
    }

    const again = await order(alice, { name: 'second', domainId: domain.id });
    expect(again.statusCode).toBe(409);
    expect(again.json<Problem>()).toMatchObject({ title: 'Domain in use', detail: `${domain.name} already has a server; delete it first or use another domain.` });
    expect(await harness.prisma.server.count({ where: { accountId: alice.id, deletedAt: null, name: 'second' } })).toBe(0);
  });

  it('deletes softly with an audit row, refuses while a live server uses the domain, and shows that server\'s ports', async () => {
    const domain = await added(alice);
    const plan = await harness.prisma.plan.findUniqueOrThrow({ where: { code: 'team' } });
    const node = await harness.prisma.node.create({
      data: { name: `n${seq}`, hostname: `n${seq}.${harness.config.platformZone}`, publicAddress: '127.0.0.1', dockerEndpoint: 'unix:///x', portRangeStart: 30000, portRangeEnd: 30100 },
    });
    const server = await harness.prisma.server.create({
      data: { accountId: alice.id, name: 'mine', domain: domain.name, domainKind: 'custom', customDomainId: domain.id, planId: plan.id, nodeId: node.id, state: 'ready' },
    });
    await harness.prisma.portAllocation.createMany({
      data: (['c2s', 'c2s_direct_tls', 's2s', 'https'] as const).map((purpose, i) => ({ nodeId: node.id, serverId: server.id, purpose, port: 30000 + i })),
    });
    const host = customDomainHost(domain.id, harness.config.platformZone);
    expect(record((await get(alice, domain.id)).json<DomainDto>(), `_xmpp-client._tcp.${domain.name}`, 'SRV').value).toBe(`0 5 30000 ${host}.`);

    const refused = await remove(alice, domain.id);
    expect(refused.statusCode).toBe(409);
    expect(refused.json<Problem>().detail).toContain(`DELETE /api/v1/servers/${server.id}`);

    await harness.prisma.server.update({ where: { id: server.id }, data: { deletedAt: new Date(), state: 'deleted' } });
    expect((await remove(alice, domain.id)).statusCode).toBe(204);
    expect((await harness.prisma.domain.findUniqueOrThrow({ where: { id: domain.id } })).deletedAt).not.toBeNull();
    expect((await get(alice, domain.id)).statusCode).toBe(404);
    expect((await remove(alice, domain.id)).statusCode).toBe(404);
    expect((await verify(alice, domain.id)).statusCode).toBe(404);
    const audit = await harness.prisma.auditLog.findFirstOrThrow({ where: { action: 'domain.delete', targetId: domain.id } });
    expect(audit).toMatchObject({ actorId: alice.id, detail: { name: domain.name } });
  });

  it('makes a DELETE racing an order on the domain wait for it, then refuse', async () => {
    const domain = await added(alice);
    await createRequired(domain);
    expect((await verify(alice, domain.id)).json<DomainDto>().status).toBe('verified');
    const plan = await harness.prisma.plan.findUniqueOrThrow({ where: { code: 'team' } });
    let deleting: ReturnType<typeof remove> | undefined;
    let settled = false;
    await harness.prisma.$transaction(async (tx) => {
      const { name } = await requireVerifiedDomain(tx, principal(alice), domain.id);
      deleting = remove(alice, domain.id);
      void deleting.then(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled, 'the DELETE waits for the order holding the domain').toBe(false);
      await tx.server.create({ data: { accountId: alice.id, name: 'racer', domain: name, domainKind: 'custom', customDomainId: domain.id, planId: plan.id } });
    });
    const answer = await deleting!;
    expect(answer.statusCode, answer.body).toBe(409);
    expect(answer.json<Problem>().title).toBe('Domain in use');
  });

  it('refuses a verify body with fields, and a malformed id', async () => {
    const domain = await added(alice);
    const extra = await harness.inject({ method: 'POST', url: `/api/v1/domains/${domain.id}/verify`, headers: withToken(alice), payload: { force: true } });
    expect(extra.statusCode).toBe(400);
    expect((await get(alice, 'nope')).statusCode).toBe(400);
  });
});

describe('verification when the DNS resolver does not answer', () => {
  let harness: ApiHarness;
  let resolver: string;
  // A resolver that never answers, held for the whole block: a port closed again could be taken
  // by any other process's DNS client socket and then answer garbage.
  let silent: Socket;

  beforeAll(async () => {
    silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    resolver = `127.0.0.1:${silent.address().port}`;
    harness = await startApiHarness({ config: (base) => ({ ...base, dnsResolver: resolver }) });
  });

  afterAll(async () => {
    await harness?.close();
    await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
  });

  it('answers 503 naming DNS and the resolver, and changes nothing', async () => {
    const account = await harness.signUp();
    const domain = (await harness.inject({ method: 'POST', url: '/api/v1/domains', headers: withToken(account), payload: { name: 'chat.example.org' } })).json<DomainDto>();
    const answer = await harness.inject({ method: 'POST', url: `/api/v1/domains/${domain.id}/verify`, headers: withToken(account), payload: {} });
    expect(answer.statusCode, answer.body).toBe(503);
    expect(answer.headers['retry-after']).toBe('5');
    const problem = answer.json<Problem & { dependency: string }>();
    expect(problem.dependency).toBe('dns');
    expect(problem.detail).toContain(`DNS could not be asked: the resolver ${resolver} did not answer`);
    const row = await harness.prisma.domain.findUniqueOrThrow({ where: { id: domain.id } });
    expect(row).toMatchObject({ status: 'pending', lastCheckedAt: null, checks: null });
    expect(await harness.prisma.auditLog.count({ where: { action: 'domain.verify' } })).toBe(0);
  });

  it('answers 503 naming DNS to an order on the platform zone, whose name could not be checked, and keeps nothing', async () => {
    const account = await harness.signUp();
    const answer = await harness.inject({ method: 'POST', url: '/api/v1/servers', headers: withToken(account), payload: { name: 'unchecked' } });
    expect(answer.statusCode, answer.body).toBe(503);
    const problem = answer.json<Problem & { dependency: string }>();
    expect(problem.dependency).toBe('dns');
    expect(problem.detail).toContain(`whether unchecked.${harness.config.platformZone} is free in DNS was not checked`);
    expect(await harness.prisma.server.count()).toBe(0);
  });
});
