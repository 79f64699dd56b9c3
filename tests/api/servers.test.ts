import { request as httpRequest } from 'node:http';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVISIONING_QUEUE, stepJobId } from '../../worker/src/contracts/provisioning.js';
import { startApiHarness, withToken, type ApiHarness, type TestAccount } from '../support/api-harness.js';
import { readyServer } from '../support/api-tenant-fixtures.js';
import { until } from '../support/until.js';
import { testEnv } from '../support/test-env.js';
import { PowerDnsProvider } from '../../worker/src/adapters/powerdns.dns-provider.js';
import type { DnsRecord } from '../../worker/src/ports/dns-provider.js';
import { adminSecretContext } from '../../worker/src/contracts/secret-contexts.js';

let harness: ApiHarness;
let alice: TestAccount;
let bob: TestAccount;
let queueConnection: Redis;
let queue: Queue;

beforeAll(async () => {
  harness = await startApiHarness();
  [alice, bob] = [await harness.signUp(), await harness.signUp()];
  queueConnection = new Redis(harness.redis.url, { maxRetriesPerRequest: null });
  queue = new Queue(PROVISIONING_QUEUE, { connection: queueConnection });
});

afterAll(async () => {
  await queue.close();
  queueConnection.disconnect();
  await harness?.close();
});

const order = (as: TestAccount, payload: unknown) => harness.inject({ method: 'POST', url: '/api/v1/servers', headers: withToken(as), payload: payload as object });
const label = () => `s${Math.random().toString(36).slice(2, 10)}`;
const countServers = () => harness.prisma.server.count();

describe('ordering a server', () => {
  it('writes the order, queues its provisioning flow and audits it', async () => {
    const name = label();
    const answer = await order(alice, { name, federation: true });
    expect(answer.statusCode).toBe(202);
    const server = answer.json<{ id: string; domain: string; state: string; federation: boolean }>();
    expect(server).toMatchObject({ domain: `${name}.${harness.config.platformZone}`, state: 'ordered', federation: true });
    expect(await queue.getJob(stepJobId(server.id, 'allocate'))).toBeDefined();
    expect(await queue.getJob(stepJobId(server.id, 'probe'))).toBeDefined();
    const audit = await harness.prisma.auditLog.findFirstOrThrow({ where: { action: 'server.create', targetId: server.id } });
    expect(audit.actorId).toBe(alice.id);
  });

  it.each([
    ['an invalid name', { name: 'Not_Valid' }, 400, 'lowercase letters'],
    ['a reserved name', { name: 'www' }, 400, 'reserved'],
    ['a name the platform uses for its own records', { name: 'domains' }, 400, 'reserved'],
    ['a name mail clients look up by convention', { name: 'autoconfig' }, 400, 'reserved'],
    ['a name browsers look up by convention', { name: 'wpad' }, 400, 'reserved'],
    ['a name like the platform\'s own hosts', { name: 'turn2' }, 400, 'reserved'],
    ['an unknown plan', { name: 'fine-name', plan: 'platinum' }, 400, 'choose one of: personal, team'],
    ['a missing name', {}, 400, 'name'],
  ])('refuses %s, says what to fix, and writes nothing', async (_what, payload, status, hint) => {
    const before = await countServers();
    const answer = await order(alice, payload);
    expect(answer.statusCode).toBe(status);
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(answer.body).toContain(hint);
    expect(await countServers()).toBe(before);
  });

  it('refuses a name that is taken', async () => {
    const name = label();
    expect((await order(alice, { name })).statusCode).toBe(202);
    const answer = await order(bob, { name });
    expect(answer.statusCode).toBe(409);
    expect(answer.json<{ detail: string }>().detail).toContain('already taken');
  });

  it('enforces the plan\'s server quota with a message that says what to do', async () => {
    const carol = await harness.signUp();
    for (let i = 0; i < 3; i++) expect((await order(carol, { name: label() })).statusCode).toBe(202);
    const before = await countServers();
    const answer = await order(carol, { name: label() });
    expect(answer.statusCode).toBe(409);
    expect(answer.json<{ detail: string }>().detail).toMatch(/allows 3 servers.*Delete one/);
    expect(await countServers()).toBe(before);
  });

  it('holds the server quota when one account orders in parallel', async () => {
    const dave = await harness.signUp();
    const answers = await Promise.all(Array.from({ length: 10 }, () => order(dave, { name: label() })));
    const statuses = answers.map((a) => a.statusCode).sort();
    expect(statuses).toEqual([...Array<number>(3).fill(202), ...Array<number>(7).fill(409)]);
    expect(await harness.prisma.server.count({ where: { accountId: dave.id } })).toBe(3);
  });

  it('refuses a server on a bigger plan than the account\'s, and allows a smaller one', async () => {
    const erin = await harness.signUp();
    const before = await countServers();
    const bigger = await order(erin, { name: label(), plan: 'team' });
    expect(bigger.statusCode).toBe(403);
    expect(bigger.json<{ detail: string }>().detail).toMatch(/Personal plan does not include Team servers/);
    expect(await countServers()).toBe(before);
    await harness.prisma.account.update({ where: { id: erin.id }, data: { plan: { connect: { code: 'team' } } } });
    expect((await order(erin, { name: label(), plan: 'personal' })).statusCode).toBe(202);
    expect((await order(erin, { name: label(), plan: 'team' })).statusCode).toBe(202);
  });

  it('refuses the name of one of the platform\'s machines', async () => {
    const name = label();
    await harness.prisma.node.create({
      data: { name, hostname: `${name}.${harness.config.platformZone}`, publicAddress: '127.0.0.1', dockerEndpoint: 'unix:///var/run/docker.sock', portRangeStart: 60000, portRangeEnd: 60009, state: 'draining' },
    });
    const before = await countServers();
    const answer = await order(alice, { name });
    expect(answer.statusCode).toBe(400);
    expect(answer.json<{ detail: string }>().detail).toContain('platform\'s machines');
    expect(await countServers()).toBe(before);
  });

  it('refuses a name whose DNS already has records Parley did not create, and takes one whose records are its own', async () => {
    const env = testEnv();
    const dns = new PowerDnsProvider({ apiUrl: env.PDNS_API_URL, apiKey: env.PDNS_API_KEY, serverId: 'localhost', zone: env.PLATFORM_ZONE });
    const [taken, srvTaken, ours] = [label(), label(), label()];
    const foreign: DnsRecord[] = [
      { name: `${taken}.${env.PLATFORM_ZONE}`, type: 'A', ttl: 60, value: '192.0.2.7' },
      { name: `_xmpp-client._tcp.conference.${srvTaken}.${env.PLATFORM_ZONE}`, type: 'SRV', ttl: 60, value: '0 5 5222 legacy.example.' },
      { name: `${ours}.${env.PLATFORM_ZONE}`, type: 'A', ttl: 60, value: '192.0.2.8' },
    ];
    await dns.addRecords(env.PLATFORM_ZONE, foreign);
    try {
      const before = { servers: await countServers(), audit: await harness.prisma.auditLog.count() };
      for (const [name, shown] of [[taken, `A 192.0.2.7 at ${taken}.`], [srvTaken, 'SRV 0 5 5222 legacy.example.']] as const) {
        const answer = await order(alice, { name });
        expect(answer.statusCode, answer.body).toBe(409);
        expect(answer.json<{ detail: string }>().detail).toContain(shown);
        expect(answer.json<{ detail: string }>().detail).toContain('choose another name');
      }
      expect({ servers: await countServers(), audit: await harness.prisma.auditLog.count() }).toEqual(before);

      // The same kind of record, but in Parley's ledger (a server's that is being replaced): not foreign.
      const record = foreign[2] as DnsRecord;
      await harness.prisma.dnsRecord.create({ data: { provider: 'powerdns', zone: env.PLATFORM_ZONE, purpose: 'a_server', ...record } });
      expect((await order(await harness.signUp(), { name: ours })).statusCode).toBe(202);
    } finally {
      await dns.removeRecords(env.PLATFORM_ZONE, foreign);
    }
  });

  it('answers 503 naming Redis when the job queue is down, and keeps nothing', async () => {
    // A new account: alice's quota depends on which tests ordered before this one.
    const erin = await harness.signUp();
    const before = await countServers();
    await harness.redis.pause();
    try {
      const answer = await order(erin, { name: label() });
      expect(answer.statusCode).toBe(503);
      expect(answer.body).toMatch(/redis/i);
    } finally {
      await harness.redis.resume();
    }
    expect(await countServers()).toBe(before);
  });
});

describe('a server\'s details, actions and credentials', () => {
  it('lists only your own servers and shows details with no secret in them', async () => {
    const server = await readyServer(harness, alice);
    const mine = await harness.inject({ method: 'GET', url: '/api/v1/servers', headers: withToken(alice) });
    expect(mine.json<{ items: { id: string }[] }>().items.map((s) => s.id)).toContain(server.id);
    const theirs = await harness.inject({ method: 'GET', url: '/api/v1/servers', headers: withToken(bob) });
    expect(theirs.json<{ items: { id: string }[] }>().items.map((s) => s.id)).not.toContain(server.id);
    const detail = await harness.inject({ method: 'GET', url: `/api/v1/servers/${server.id}`, headers: withToken(alice) });
    expect(detail.statusCode).toBe(200);
    expect(detail.body).not.toContain('fixture admin password');
  });

  it('shows a certificate blocked on the customer with the exact fix and when it is tried again', async () => {
    const server = await readyServer(harness, alice);
    const domain = `${server.name}.${harness.config.platformZone}`;
    const blockedReason = `_acme-challenge.${domain} CNAME abc.acme.${harness.config.platformZone}.`;
    const nextAttemptAt = new Date(Date.now() + 3_600_000);
    await harness.prisma.certificate.create({
      data: { serverId: server.id, names: [domain], status: 'active', blockedReason, nextAttemptAt, failureCount: 2, lastErrorType: 'acme_challenge_cname_missing' },
    });
    const detail = await harness.inject({ method: 'GET', url: `/api/v1/servers/${server.id}`, headers: withToken(alice) });
    expect(detail.json<{ certificate: unknown }>().certificate).toMatchObject({ blockedReason, nextAttemptAt: nextAttemptAt.toISOString(), failureCount: 2 });
  });

  it('says what the reconciler observed: health in plain words over the list and the detail, with the incidents', async () => {
    const server = await readyServer(harness, alice);
    const fresh = await harness.inject({ method: 'GET', url: `/api/v1/servers/${server.id}`, headers: withToken(alice) });
    expect(fresh.json<{ health: unknown; incidents: unknown[] }>()).toMatchObject({ health: { status: 'unknown', issue: null, message: null }, incidents: [] });

    const since = new Date();
    await harness.prisma.server.update({ where: { id: server.id }, data: { health: 'down', healthIssue: 'container_stopped', healthChangedAt: since, healthCheckedAt: since } });
    const incident = await harness.prisma.incident.create({
      data: { serverId: server.id, kind: 'container_stopped', repairAttempts: 1, lastError: 'exited at once', lastErrorType: 'container_not_found' },
    });
    const health = { status: 'down', issue: 'container_stopped', message: 'Your server stopped unexpectedly; Parley is restarting it.', since: since.toISOString(), checkedAt: since.toISOString() };
    const detail = await harness.inject({ method: 'GET', url: `/api/v1/servers/${server.id}`, headers: withToken(alice) });
    expect(detail.json<{ state: string; health: unknown; incidents: unknown[] }>()).toMatchObject({
      state: 'ready',
      health,
      incidents: [{ id: incident.id, kind: 'container_stopped', status: 'open', resolvedAt: null, repairAttempts: 1, lastError: "Your server's container was not found on its machine." }],
    });
    const list = await harness.inject({ method: 'GET', url: '/api/v1/servers', headers: withToken(alice) });
    expect(list.json<{ items: { id: string; health: unknown }[] }>().items.find((s) => s.id === server.id)?.health).toEqual(health);
  });

  it('words failures for the customer from their type, never showing the raw error, which operators still read', async () => {
    const operator = await harness.signUp({ operator: true });
    const server = await readyServer(harness, alice);
    const raw = {
      state: 'Start the container: connect ECONNREFUSED /var/run/docker.sock (POST http://localhost/v1.47/containers/create)',
      acme: 'POST https://127.0.0.1:14000/order-plz: HTTP 500 urn:ietf:params:acme:error:serverInternal',
      worded: 'chat.example already has DNS records that Parley did not create (A 192.0.2.1 at chat.example); choose another name.',
      incident: 'prosodyctl exited 1: lua: /etc/prosody/prosody.cfg.lua:3: unexpected symbol',
    };
    await harness.prisma.server.update({ where: { id: server.id }, data: { state: 'failed', stateReason: raw.state, stateReasonType: 'unknown' } });
    await harness.prisma.provisioningEvent.createMany({
      data: [
        { serverId: server.id, step: 'certificate', status: 'failed', message: raw.acme, errorType: 'acme_unavailable', willRetry: true, attempt: 1, maxAttempts: 5 },
        { serverId: server.id, step: 'dns', status: 'failed', message: raw.worded, errorType: 'dns_name_taken', willRetry: false },
        { serverId: server.id, step: 'container', status: 'failed', message: raw.state, errorType: null, willRetry: false },
        { serverId: server.id, step: 'incident', status: 'failed', message: 'Detected: container_stopped', errorType: 'health_incident', willRetry: true },
      ],
    });
    await harness.prisma.incident.create({ data: { serverId: server.id, kind: 'config_invalid', repairAttempts: 2, lastError: raw.incident, lastErrorType: 'unknown' } });

    const read = async (as: TestAccount) => {
      const detail = (await harness.inject({ method: 'GET', url: `/api/v1/servers/${server.id}`, headers: withToken(as) })).json<{ stateReason: string; incidents: { lastError: string }[] }>();
      const events = (await harness.inject({ method: 'GET', url: `/api/v1/servers/${server.id}/events`, headers: withToken(as) })).json<{ items: { message: string }[] }>();
      const list = (await harness.inject({ method: 'GET', url: '/api/v1/servers', headers: withToken(as) })).json<{ items: { id: string; stateReason: string }[] }>();
      return { detail, events: events.items.map((e) => e.message), listed: list.items.find((s) => s.id === server.id)?.stateReason };
    };
    const customer = await read(alice);
    expect(customer.detail.stateReason).toBe('Something inside Parley failed.');
    expect(customer.listed).toBe(customer.detail.stateReason);
    expect(customer.events).toEqual([
      'The certificate authority did not answer as expected.',
      raw.worded,
      'Something inside Parley failed.',
      'Detected: container_stopped',
    ]);
    expect(customer.detail.incidents.map((i) => i.lastError)).toEqual(['Something inside Parley failed.']);
    const customerView = JSON.stringify(customer);
    for (const internal of ['ECONNREFUSED', '127.0.0.1', 'docker.sock', 'prosodyctl', 'urn:ietf']) expect(customerView).not.toContain(internal);

    const operatorView = await read(operator);
    expect(operatorView.detail.stateReason).toBe(raw.state);
    expect(operatorView.events).toEqual([raw.acme, raw.worded, raw.state, 'Detected: container_stopped']);
    expect(operatorView.detail.incidents.map((i) => i.lastError)).toEqual([raw.incident]);
  });

  it.each([
    ['no body at all', {}],
    ['an empty body sent as JSON', { payload: '', headers: { 'content-type': 'application/json' } }],
  ])('takes an action with no input from a request with %s', async (_what, request: { payload?: string; headers?: Record<string, string> }) => {
    const server = await readyServer(harness, alice);
    const answer = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/credentials/reveal`, ...request, headers: { ...withToken(alice), ...request.headers } });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({ password: 'fixture admin password' });
  });

  it('still refuses a body that is not an empty object on an action with no input', async () => {
    const server = await readyServer(harness, alice);
    const answer = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/credentials/reveal`, headers: withToken(alice), payload: { extra: 1 } });
    expect(answer.statusCode).toBe(400);
  });

  it('reveals the admin password exactly once, and says how to get a new one', async () => {
    const server = await readyServer(harness, alice);
    const first = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/credentials/reveal`, headers: withToken(alice), payload: {} });
    expect(first.statusCode).toBe(200);
    expect(first.headers['cache-control']).toBe('no-store');
    expect(first.json()).toMatchObject({ password: 'fixture admin password', issuance: 1 });
    const second = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/credentials/reveal`, headers: withToken(alice), payload: {} });
    expect(second.statusCode).toBe(410);
    expect(second.json<{ detail: string }>().detail).toContain(`POST /api/v1/servers/${server.id}/credentials/reset`);
    const audit = await harness.prisma.auditLog.findMany({ where: { action: 'credential.reveal', targetId: server.id } });
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit.map((row) => row.detail))).not.toContain('fixture admin password');
  });

  it('never reveals a customer\'s admin password to an operator, whose attempt leaves the owner\'s reveal unspent', async () => {
    const server = await readyServer(harness, alice);
    const operator = await harness.signUp({ operator: true });
    const attempt = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/credentials/reveal`, headers: withToken(operator), payload: {} });
    expect(attempt.statusCode).toBe(403);
    expect(attempt.body).not.toContain('fixture admin password');
    expect(attempt.json<{ detail: string }>().detail).toContain('only to the account that owns it');
    const owner = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/credentials/reveal`, headers: withToken(alice), payload: {} });
    expect(owner.json()).toMatchObject({ password: 'fixture admin password' });
  });

  it('keeps a new password until the worker has set it on the server, then reveals it once', async () => {
    const server = await readyServer(harness, alice);
    // What the worker's reset has done before Prosody took the password: issuance 2 is stored.
    await harness.prisma.serverCredential.create({
      data: {
        server: { connect: { id: server.id } },
        kind: 'admin',
        jid: `admin@${server.name}.${harness.config.platformZone}`,
        issuance: 2,
        secret: { create: harness.app.secrets.seal('admin_password', 'second password', adminSecretContext(server.id)) },
      },
    });
    const reveal = () => harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/credentials/reveal`, headers: withToken(alice), payload: {} });
    const early = await reveal();
    expect(early.statusCode).toBe(409);
    expect(early.json<{ detail: string }>().detail).toContain('The new admin password is being set on the server; reveal it in a few seconds');
    expect(await harness.prisma.encryptedSecret.count({ where: { serverCredential: { serverId: server.id }, revealedAt: { not: null } } })).toBe(0);

    await harness.prisma.serverCredential.updateMany({ where: { serverId: server.id, issuance: 2 }, data: { appliedAt: new Date() } });
    const answer = await reveal();
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({ password: 'second password', issuance: 2 });
  });

  it('queues a reset of the admin password as the next issuance', async () => {
    const server = await readyServer(harness, alice);
    const answer = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/credentials/reset`, headers: withToken(alice), payload: {} });
    expect(answer.statusCode).toBe(202);
    expect(answer.json()).toMatchObject({ issuance: 2 });
    const job = await queue.getJob(`admin-reset.${server.id}.2`);
    expect(job?.data).toEqual({ serverId: server.id, issuance: 2 });
  });

  it('sets the contact addresses the server publishes, audits the change and queues it; bad addresses change nothing', async () => {
    const server = await readyServer(harness, alice);
    const url = `/api/v1/servers/${server.id}/contacts`;
    const detail = async () => (await harness.inject({ method: 'GET', url: `/api/v1/servers/${server.id}`, headers: withToken(alice) })).json<{ domain: string; contacts: Record<string, string[]> }>();
    const before = await detail();
    expect(before.contacts).toEqual({ admin: [`xmpp:admin@${before.domain}`], abuse: [`xmpp:admin@${before.domain}`], support: [], security: [] });

    const bad = await harness.inject({ method: 'PUT', url, headers: withToken(alice), payload: { abuse: ['mailto:abuse@example.com', 'javascript:alert(1)'] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ errors: { field: string }[] }>().errors.map((e) => e.field)).toEqual(['abuse[1]']);
    expect((await harness.prisma.server.findUniqueOrThrow({ where: { id: server.id } })).contactsRevision).toBe(0);
    expect(await harness.inject({ method: 'PUT', url, headers: withToken(bob), payload: { abuse: ['mailto:abuse@example.com'] } })).toMatchObject({ statusCode: 404 });

    const set = await harness.inject({ method: 'PUT', url, headers: withToken(alice), payload: { abuse: ['mailto:abuse@example.com'], support: ['https://example.com/help'] } });
    expect(set.statusCode).toBe(202);
    expect(set.json()).toEqual({ revision: 1, contacts: { admin: [`xmpp:admin@${before.domain}`], abuse: ['mailto:abuse@example.com'], support: ['https://example.com/help'], security: [] } });
    expect((await detail()).contacts).toEqual(set.json<{ contacts: unknown }>().contacts);
    expect((await queue.getJob(`server-config.${server.id}.1`))?.data).toEqual({ serverId: server.id, revision: 1 });
    const audit = await harness.prisma.auditLog.findFirstOrThrow({ where: { action: 'server.contacts_update', targetId: server.id } });
    expect(audit.detail).toMatchObject({ revision: 1, abuse: ['mailto:abuse@example.com'] });
  });

  it('shows the compliance checks\' latest results and federation as observed, and queues a new check run (audited) only for a ready server', async () => {
    const server = await readyServer(harness, alice);
    const detail = async () => (await harness.inject({ method: 'GET', url: `/api/v1/servers/${server.id}`, headers: withToken(alice) })).json<{ compliance: unknown; federationSeen: unknown }>();
    expect(await detail()).toMatchObject({ compliance: null, federationSeen: { outgoingAt: null, incomingAt: null } });
    const at = new Date('2026-11-30T10:00:00.000Z');
    await harness.prisma.complianceResult.createMany({
      data: [
        { serverId: server.id, checkId: 'xep0280-carbons', passed: true, reason: 'ok', detail: 'a copy arrived', durationMs: 40, checkedAt: at },
        { serverId: server.id, checkId: 'turn-allocation', passed: false, reason: 'no_external_services', detail: 'no TURN advertised', durationMs: 5, checkedAt: at },
      ],
    });
    await harness.prisma.server.update({ where: { id: server.id }, data: { s2sOutgoingSeenAt: at } });
    expect(await detail()).toMatchObject({
      compliance: {
        passed: 1,
        total: 2,
        checkedAt: at.toISOString(),
        checks: [
          { id: 'xep0280-carbons', spec: 'XEP-0280', category: 'im', passed: true, reason: 'ok' },
          { id: 'turn-allocation', category: 'av', passed: false, reason: 'no_external_services' },
        ],
      },
      federationSeen: { outgoingAt: at.toISOString(), incomingAt: null },
    });

    const run = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/compliance`, headers: withToken(alice), payload: {} });
    expect(run.statusCode).toBe(202);
    expect((await queue.getJob(`compliance.${server.id}`))?.data).toEqual({ serverId: server.id });
    expect(await harness.prisma.auditLog.count({ where: { action: 'server.compliance_check', targetId: server.id } })).toBe(1);
    await harness.prisma.server.update({ where: { id: server.id }, data: { state: 'stopped' } });
    expect((await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/compliance`, headers: withToken(alice), payload: {} })).statusCode).toBe(409);
  });

  it('queues the replacement of the calls secret as its next version, audited; a server without calls has none to replace', async () => {
    const server = await readyServer(harness, alice);
    const url = `/api/v1/servers/${server.id}/calls/secret/rotate`;
    const none = await harness.inject({ method: 'POST', url, headers: withToken(alice), payload: {} });
    expect(none.statusCode).toBe(409);
    expect(none.json<{ detail: string }>().detail).toContain('offers no calls');
    const secret = await harness.prisma.encryptedSecret.create({ data: { purpose: 'turn_secret', keyring: 'platform', keyVersion: 1, iv: Buffer.alloc(12), ciphertext: Buffer.from('x'), authTag: Buffer.alloc(16) } });
    await harness.prisma.turnSecret.create({ data: { serverId: server.id, version: 1, secretId: secret.id } });
    const rotate = await harness.inject({ method: 'POST', url, headers: withToken(alice), payload: {} });
    expect(rotate.statusCode).toBe(202);
    expect(rotate.json()).toEqual({ version: 2 });
    expect((await queue.getJob(`turn-rotation.${server.id}.2`))?.data).toEqual({ serverId: server.id, version: 2 });
    expect(await harness.prisma.auditLog.count({ where: { action: 'server.calls_secret_rotate', targetId: server.id } })).toBe(1);
  });

  it('shows calls only once the server has its secret on a node with coturn, and TURN over TLS only once that node serves a certificate', async () => {
    const server = await readyServer(harness, alice);
    const calls = async () => (await harness.inject({ method: 'GET', url: `/api/v1/servers/${server.id}`, headers: withToken(alice) })).json<{ calls: unknown }>().calls;
    const name = label();
    const node = await harness.prisma.node.create({
      data: { name, hostname: `${name}.${harness.config.platformZone}`, publicAddress: '127.0.0.1', dockerEndpoint: 'unix:///var/run/docker.sock', portRangeStart: 60010, portRangeEnd: 60019, turnPort: 3478, turnRelayPorts: '48000-48999', turnTlsPort: 5349 },
    });
    await harness.prisma.server.update({ where: { id: server.id }, data: { nodeId: node.id } });
    expect(await calls()).toBeNull();
    const secret = await harness.prisma.encryptedSecret.create({ data: { purpose: 'turn_secret', keyring: 'platform', keyVersion: 1, iv: Buffer.alloc(12), ciphertext: Buffer.from('x'), authTag: Buffer.alloc(16) } });
    await harness.prisma.turnSecret.create({ data: { serverId: server.id, version: 1, secretId: secret.id } });
    expect(await calls()).toEqual({ turnPort: 3478, relayPorts: '48000-48999', tls: null });
    const now = Date.now();
    await harness.prisma.nodeCertificate.create({
      data: { nodeId: node.id, names: [`turn.${node.hostname}`], serial: '01', notBefore: new Date(now), notAfter: new Date(now + 90 * 86_400_000), renewAfter: new Date(now + 60 * 86_400_000), chainPem: 'PEM' },
    });
    expect(await calls()).toEqual({ turnPort: 3478, relayPorts: '48000-48999', tls: { host: `turn.${node.hostname}`, port: 5349 } });
  });

  it('queues stop/start/restart only for a ready or stopped server', async () => {
    const server = await readyServer(harness, alice);
    const stop = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/actions`, headers: withToken(alice), payload: { action: 'stop' } });
    expect(stop.statusCode).toBe(202);
    expect((await harness.prisma.server.findUniqueOrThrow({ where: { id: server.id } })).desiredState).toBe('stopped');
    const dave = await harness.signUp();
    const { id: ordered } = (await order(dave, { name: label() })).json<{ id: string }>();
    const early = await harness.inject({ method: 'POST', url: `/api/v1/servers/${ordered}/actions`, headers: withToken(dave), payload: { action: 'restart' } });
    expect(early.statusCode).toBe(409);
    expect(early.json<{ detail: string }>().detail).toContain('once it is ready');
  });

  it('queues an action only once its request is committed, and keeps nothing when it cannot queue it', async () => {
    const server = await readyServer(harness, alice);
    // What a worker taking the job at once would read, from outside the request's transaction:
    // before the commit it would see "running" and skip the stop as superseded.
    const jobs = harness.app.jobs;
    const enqueue = jobs.serverAction.bind(jobs);
    let seenByWorker: string | undefined;
    jobs.serverAction = async (...args) => {
      seenByWorker = (await harness.prisma.server.findUniqueOrThrow({ where: { id: server.id } })).desiredState;
      return enqueue(...args);
    };
    try {
      const stop = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/actions`, headers: withToken(alice), payload: { action: 'stop' } });
      expect(stop.statusCode).toBe(202);
    } finally {
      jobs.serverAction = enqueue;
    }
    expect(seenByWorker).toBe('stopped');

    const audits = () => harness.prisma.auditLog.count({ where: { targetId: server.id, action: { startsWith: 'server.' } } });
    const before = await audits();
    await harness.redis.pause();
    try {
      const start = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/actions`, headers: withToken(alice), payload: { action: 'start' } });
      expect(start.statusCode).toBe(503);
      expect(start.body).toMatch(/redis/i);
    } finally {
      await harness.redis.resume();
    }
    expect((await harness.prisma.server.findUniqueOrThrow({ where: { id: server.id } })).desiredState).toBe('stopped');
    expect(await audits()).toBe(before);

    // Once Redis is back, the same request goes through (the API's queue connection reconnects).
    await until(
      'the start goes through once Redis is back',
      async () =>
        (await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/actions`, headers: withToken(alice), payload: { action: 'start' } })).statusCode === 202 ? true : null,
      15_000,
    );
    expect((await harness.prisma.server.findUniqueOrThrow({ where: { id: server.id } })).desiredState).toBe('running');
  });

  it('deletes only when the name is typed to confirm', async () => {
    const server = await readyServer(harness, alice);
    const wrong = await harness.inject({ method: 'DELETE', url: `/api/v1/servers/${server.id}`, headers: withToken(alice), payload: { confirm: 'nope' } });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json<{ detail: string }>().detail).toContain(`"${server.name}"`);
    expect((await harness.prisma.server.findUniqueOrThrow({ where: { id: server.id } })).desiredState).toBe('running');
    const right = await harness.inject({ method: 'DELETE', url: `/api/v1/servers/${server.id}`, headers: withToken(alice), payload: { confirm: server.name } });
    expect(right.statusCode).toBe(202);
    expect((await harness.prisma.server.findUniqueOrThrow({ where: { id: server.id } })).desiredState).toBe('deleted');
    expect(await queue.getJob(`deprovision.${server.id}`)).toBeDefined();
  });
});

/** The shared app's address, listening from whichever streaming test runs first. */
async function listeningAddress(): Promise<string> {
  const bound = harness.app.server.address();
  return bound && typeof bound === 'object' ? `http://127.0.0.1:${bound.port}` : harness.app.listen({ host: '127.0.0.1', port: 0 });
}

describe('the live timeline', () => {
  it('lists events after a cursor', async () => {
    const server = await readyServer(harness, alice);
    await harness.prisma.provisioningEvent.createMany({
      data: ['allocate', 'dns'].map((step) => ({ serverId: server.id, step, status: 'succeeded' as const, message: `${step} done` })),
    });
    const all = (await harness.inject({ method: 'GET', url: `/api/v1/servers/${server.id}/events`, headers: withToken(alice) })).json<{ items: { id: string; step: string }[] }>();
    expect(all.items.map((e) => e.step)).toEqual(['allocate', 'dns']);
    const after = await harness.inject({ method: 'GET', url: `/api/v1/servers/${server.id}/events?after=${all.items[0]?.id}`, headers: withToken(alice) });
    expect(after.json<{ items: { step: string }[] }>().items.map((e) => e.step)).toEqual(['dns']);
  });

  it('streams new events and state changes as Server-Sent Events, only to the owner', async () => {
    const server = await readyServer(harness, alice);
    const address = await listeningAddress();
    const url = new URL(`/api/v1/servers/${server.id}/events/stream`, address);

    const denied = await new Promise<number>((resolve, reject) => {
      httpRequest(url, { headers: withToken(bob) }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(denied).toBe(404);

    const received = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(url, { headers: withToken(alice) }, (res) => {
        expect(res.headers['content-type']).toBe('text/event-stream');
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8');
          if (text.includes('"state":"stopped"') && text.includes('event: timeline')) {
            req.destroy();
            resolve(text);
          }
        });
      });
      req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
      req.setTimeout(15_000, () => req.destroy(new Error('no events within 15 s')));
      req.end();
      setTimeout(() => {
        void harness.prisma.provisioningEvent
          .create({ data: { serverId: server.id, step: 'stop', status: 'succeeded', message: 'Server stopped' } })
          .then(() => harness.prisma.server.update({ where: { id: server.id }, data: { state: 'stopped' } }));
      }, 300);
    });
    expect(received).toContain('event: state\ndata: {"state":"ready"');
    expect(received).toMatch(/id: \d+\nevent: timeline\ndata: \{[^\n]*"message":"Server stopped"/);
  });
});

interface OpenStream {
  status: number;
  text(): string;
  /** Resolves with everything received once the server ends the stream. */
  ended: Promise<string>;
  close(): void;
}

/** Opens a live timeline and waits for its first event (or a refusal). */
function openStream(url: URL, headers: Record<string, string>): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      let text = '';
      const ended = new Promise<string>((resolveEnd) => res.on('end', () => resolveEnd(text)));
      const stream = { status: res.statusCode ?? 0, text: () => text, ended, close: () => req.destroy() };
      if (stream.status !== 200) {
        res.resume();
        return resolve(stream);
      }
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        if (text.includes('event: state')) resolve(stream);
      });
    });
    req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
    req.end();
  });
}

async function within<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('live timelines cannot starve the database', () => {
  it('an open stream asks the database nothing until its server changes, then gets the change pushed', async () => {
    const server = await readyServer(harness, alice);
    const address = await listeningAddress();
    const url = new URL(`/api/v1/servers/${server.id}/events/stream`, address);
    const streams = await Promise.all(Array.from({ length: 5 }, () => openStream(url, withToken(alice))));
    try {
      // Once the API listens (and the streams have read what came before), the timeline table is
      // locked for two seconds: a stream that polled would wait on the lock, seen in pg_stat_activity.
      const listening = async () =>
        (await harness.prisma.$queryRaw<[{ n: bigint }]>`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN parley_server_changes'`)[0].n > 0n;
      await until('the API listens for server changes', async () => ((await listening()) ? true : null), 10_000);
      await new Promise((r) => setTimeout(r, 1_000));
      const waiting = await harness.prisma.$transaction(
        async (tx) => {
          await tx.$executeRaw`LOCK TABLE provisioning_events IN ACCESS EXCLUSIVE MODE`;
          await new Promise((r) => setTimeout(r, 2_000));
          return (await harness.prisma.$queryRaw<[{ n: bigint }]>`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)[0].n;
        },
        { timeout: 10_000 },
      );
      // Polling twice a second, all five streams would be waiting on the lock by now.
      expect(waiting).toBe(0n);

      await harness.prisma.provisioningEvent.create({ data: { serverId: server.id, step: 'restart', status: 'succeeded', message: 'Pushed to every stream' } });
      for (const stream of streams) {
        await until('the event reaches the stream', () => Promise.resolve(stream.text().includes('Pushed to every stream') ? true : null), 10_000);
      }
    } finally {
      for (const stream of streams) stream.close();
    }
  });

  it('caps the streams an account holds open, and ends one whose token is revoked', async () => {
    const limited = await startApiHarness({ config: (base) => ({ ...base, streams: { perAccount: 2, total: 100, recheckSeconds: 1 } }) });
    try {
      const owner = await limited.signUp();
      const server = await readyServer(limited, owner);
      const address = await limited.app.listen({ host: '127.0.0.1', port: 0 });
      const url = new URL(`/api/v1/servers/${server.id}/events/stream`, address);
      const [first, second] = [await openStream(url, withToken(owner)), await openStream(url, withToken(owner))];
      const refused = await openStream(url, withToken(owner));
      expect(refused.status).toBe(429);

      first.close();
      await until(
        'the closed stream is counted out',
        async () => {
          const again = await openStream(url, withToken(owner));
          if (again.status !== 200) return null;
          again.close();
          return true;
        },
        10_000,
      );

      const revoke = await limited.inject({ method: 'DELETE', url: `/api/v1/tokens/${owner.tokenId}`, headers: { cookie: owner.cookie, 'x-csrf-token': owner.csrfToken } });
      expect(revoke.statusCode).toBe(204);
      const text = await within('the stream of the revoked token ends', second.ended, 10_000);
      expect(text).toMatch(/event: error\ndata: \{"detail":"Your session ended or your API token was revoked/);
    } finally {
      await limited.close();
    }
  });
});

describe('closing the API', () => {
  it('ends the timeline streams browsers hold open, so a shutdown does not wait for them', async () => {
    const closing = await startApiHarness();
    const owner = await closing.signUp();
    const server = await readyServer(closing, owner);
    const address = await closing.app.listen({ host: '127.0.0.1', port: 0 });
    const url = new URL(`/api/v1/servers/${server.id}/events/stream`, address);
    // Wrapped in an object: resolving with the promise itself would wait for the stream's end.
    const { ended } = await new Promise<{ ended: Promise<string> }>((resolve, reject) => {
      httpRequest(url, { headers: withToken(owner) }, (res) => {
        let text = '';
        const done = new Promise<string>((resolveEnd) => res.on('end', () => resolveEnd(text)));
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8');
          // Open and past its first event: the stream is in its loop.
          if (text.includes('event: state')) resolve({ ended: done });
        });
      })
        .on('error', reject)
        .end();
    });
    await closing.close();
    expect(await ended).toContain('event: state\ndata: {"state":"ready"');
  });
});

describe('logs', () => {
  it('never contain a revealed admin password, even at trace level', async () => {
    const traced = await startApiHarness({ captureLogs: true });
    try {
      const owner = await traced.signUp();
      const server = await readyServer(traced, owner);
      const reveal = await traced.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/credentials/reveal`, headers: withToken(owner), payload: {} });
      expect(reveal.json<{ password: string }>().password).toBe('fixture admin password');
      expect(traced.logs.length).toBeGreaterThan(0);
      expect(traced.logs.join('\n')).not.toContain('fixture admin password');
    } finally {
      await traced.close();
    }
  });
});
