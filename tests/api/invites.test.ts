import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVITE_CREATE_JOB, INVITE_REVOKE_JOB, inviteJobId, inviteUriContext, XMPP_USERS_QUEUE } from '../../worker/src/contracts/xmpp-user-jobs.js';
import type { SecretSealer } from '../../worker/src/crypto/secret-sealer.js';
import { snapshotDatabase } from '../support/api-db-snapshot.js';
import { startApiHarness, withToken, type ApiHarness, type TestAccount } from '../support/api-harness.js';
import { readyServer } from '../support/api-tenant-fixtures.js';

interface InviteDto {
  id: string;
  serverId: string;
  state: string;
  expiresAt: string;
  revokedAt: string | null;
  lastError: string | null;
  createdAt: string;
  link?: string | null;
}

let harness: ApiHarness;
let alice: TestAccount;
let bob: TestAccount;
let operator: TestAccount;
let secrets: SecretSealer;
let queueConnection: Redis;
let queue: Queue;
/** Every invite link handed out: none may reach the logs. */
const links: string[] = [];

beforeAll(async () => {
  harness = await startApiHarness({ captureLogs: true });
  [alice, bob, operator] = [await harness.signUp(), await harness.signUp(), await harness.signUp({ operator: true })];
  secrets = harness.app.secrets;
  queueConnection = new Redis(harness.redis.url, { maxRetriesPerRequest: null });
  queue = new Queue(XMPP_USERS_QUEUE, { connection: queueConnection });
});

afterAll(async () => {
  await queue?.close();
  queueConnection?.disconnect();
  await harness?.close();
});

const invitesOf = (serverId: string) => `/api/v1/servers/${serverId}/invites`;
const createInvite = (as: TestAccount, serverId: string, payload: unknown) =>
  harness.inject({ method: 'POST', url: invitesOf(serverId), headers: withToken(as), payload: payload as object });
const getInvite = (as: TestAccount, serverId: string, id: string) => harness.inject({ method: 'GET', url: `${invitesOf(serverId)}/${id}`, headers: withToken(as) });
const revoke = (as: TestAccount, serverId: string, id: string) => harness.inject({ method: 'DELETE', url: `${invitesOf(serverId)}/${id}`, headers: withToken(as) });

async function newInvite(serverId: string, payload: object = {}): Promise<InviteDto> {
  const answer = await createInvite(alice, serverId, payload);
  expect(answer.statusCode, answer.body).toBe(202);
  return answer.json<InviteDto>();
}

/** What the worker does once Prosody minted the invite: the URI sealed on the row, state active. */
async function activate(invite: InviteDto, domain: string): Promise<string> {
  const uri = `xmpp:${domain}?register;preauth=${randomBytes(18).toString('base64url')}`;
  links.push(uri);
  await harness.prisma.invite.update({
    where: { id: invite.id },
    data: { state: 'active', uriSecret: { create: secrets.seal('invite_uri', uri, inviteUriContext(invite.id)) } },
  });
  return uri;
}

const domainOf = (server: { name: string }) => `${server.name}.${harness.config.platformZone}`;

describe('creating an invite', () => {
  it('writes a pending invite expiring in a week by default, queues the job with ids only, and audits it', async () => {
    const server = await readyServer(harness, alice);
    const invite = await newInvite(server.id);
    expect(invite).toMatchObject({ serverId: server.id, state: 'pending', revokedAt: null, lastError: null });
    const hours = (Date.parse(invite.expiresAt) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(167.9);
    expect(hours).toBeLessThanOrEqual(168);
    expect(invite).not.toHaveProperty('link');

    const job = await queue.getJob(inviteJobId(INVITE_CREATE_JOB, invite.id));
    expect(job?.name).toBe(INVITE_CREATE_JOB);
    expect(job?.data).toEqual({ serverId: server.id, inviteId: invite.id });
    const row = await harness.prisma.invite.findUniqueOrThrow({ where: { id: invite.id } });
    expect(row.createdById).toBe(alice.id);
    const audit = await harness.prisma.auditLog.findFirstOrThrow({ where: { action: 'invite.create', targetId: invite.id } });
    expect(audit).toMatchObject({ actorId: alice.id, targetType: 'invite', detail: { serverId: server.id, expiresAt: invite.expiresAt } });
  });

  it('takes the expiry in hours', async () => {
    const server = await readyServer(harness, alice);
    const invite = await newInvite(server.id, { expiresInHours: 2 });
    expect((Date.parse(invite.expiresAt) - Date.now()) / 3_600_000).toBeCloseTo(2, 1);
  });

  it.each([
    ['zero hours', { expiresInHours: 0 }, 'expiresInHours must be from 1 to 720'],
    ['more than 30 days', { expiresInHours: 721 }, 'expiresInHours must be from 1 to 720'],
    ['a fraction', { expiresInHours: 1.5 }, 'expiresInHours must be a whole number of hours'],
    ['a string', { expiresInHours: '24' }, 'expiresInHours must be a number of hours'],
    ['an unknown field', { expiresInDays: 1 }, 'unknown field "expiresInDays"'],
  ])('refuses %s with a 400 that says what to send, and writes nothing', async (_what, payload, hint) => {
    const server = await readyServer(harness, alice);
    const before = await snapshotDatabase(harness.prisma);
    const answer = await createInvite(alice, server.id, payload);
    expect(answer.statusCode).toBe(400);
    expect(answer.json<{ detail: string }>().detail).toContain(hint);
    expect(await snapshotDatabase(harness.prisma)).toEqual(before);
  });

  it('refuses a server that is not ready, and one past its user quota', async () => {
    const server = await readyServer(harness, alice);
    await harness.prisma.server.update({ where: { id: server.id }, data: { state: 'starting' } });
    const early = await createInvite(alice, server.id, {});
    expect(early.statusCode).toBe(409);
    expect(early.json<{ detail: string }>().detail).toContain('still being set up');

    const full = await readyServer(harness, alice);
    const plan = await harness.prisma.plan.create({
      data: { code: `one${randomBytes(3).toString('hex')}`, name: 'Single', maxServers: 1, maxUsersPerServer: 1, storageMiB: 64, memoryMiB: 64, cpuMillis: 100, pidsLimit: 32 },
    });
    await harness.prisma.server.update({ where: { id: full.id }, data: { planId: plan.id } });
    await newInvite(full.id);
    const over = await createInvite(alice, full.id, {});
    expect(over.statusCode).toBe(409);
    expect(over.json<{ detail: string }>().detail).toContain('Single plan allows 1 user per server, and 0 accounts and 1 open invite take them all');
    expect(await harness.prisma.invite.count({ where: { serverId: { in: [server.id, full.id] } } })).toBe(1);
  });

  it('counts seats on the accounts Prosody holds: one made through a used invite keeps its seat, one deleted since the census frees it', async () => {
    const server = await readyServer(harness, alice);
    const plan = await harness.prisma.plan.create({
      data: { code: `two${randomBytes(3).toString('hex')}`, name: 'Pair', maxServers: 1, maxUsersPerServer: 2, storageMiB: 64, memoryMiB: 64, cpuMillis: 100, pidsLimit: 32 },
    });
    const countedAt = new Date(Date.now() - 60_000);
    // The census found two accounts: carol, made through an invite now redeemed (no user row), and dave, a user row.
    await harness.prisma.server.update({ where: { id: server.id }, data: { planId: plan.id, prosodyAccounts: ['carol', 'dave'], accountsCountedAt: countedAt } });
    await harness.prisma.invite.create({ data: { serverId: server.id, state: 'redeemed', redeemedAt: countedAt, expiresAt: new Date(Date.now() + 86_400_000) } });
    const dave = await harness.prisma.xmppUser.create({ data: { serverId: server.id, localpart: 'dave', state: 'active' } });

    const full = await createInvite(alice, server.id, {});
    expect(full.statusCode, full.body).toBe(409);
    expect(full.json<{ detail: string }>().detail).toContain('Pair plan allows 2 users per server, and 2 accounts and 0 open invites take them all');

    // Deleting dave after the census frees his seat at once, before the next census.
    await harness.prisma.xmppUser.update({ where: { id: dave.id }, data: { state: 'deleted' } });
    expect((await createInvite(alice, server.id, {})).statusCode).toBe(202);
  });
});

describe('reading invites and their link', () => {
  it('gives the link to the owner once the invite is active, with no-store; never in the list, never to an operator', async () => {
    const server = await readyServer(harness, alice);
    const invite = await newInvite(server.id);
    const pending = await getInvite(alice, server.id, invite.id);
    expect(pending.statusCode).toBe(200);
    expect(pending.json<InviteDto>()).toMatchObject({ state: 'pending', link: null });

    const uri = await activate(invite, domainOf(server));
    const active = await getInvite(alice, server.id, invite.id);
    expect(active.headers['cache-control']).toBe('no-store');
    expect(active.json<InviteDto>()).toMatchObject({ state: 'active', link: uri });

    const list = await harness.inject({ method: 'GET', url: invitesOf(server.id), headers: withToken(alice) });
    expect(list.json<{ items: InviteDto[] }>().items.map((i) => i.id)).toEqual([invite.id]);
    expect(list.body).not.toContain(uri.split('=')[1]);

    const asOperator = await getInvite(operator, server.id, invite.id);
    expect(asOperator.statusCode).toBe(200);
    expect(asOperator.json<InviteDto>()).toMatchObject({ state: 'active', link: null });
    expect((await getInvite(bob, server.id, invite.id)).statusCode).toBe(404);
  });

  it('shows an invite past its expiry as expired, without its link', async () => {
    const server = await readyServer(harness, alice);
    const invite = await newInvite(server.id);
    await activate(invite, domainOf(server));
    await harness.prisma.invite.update({ where: { id: invite.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await getInvite(alice, server.id, invite.id)).json<InviteDto>()).toMatchObject({ state: 'expired', link: null });
  });

  it('lists newest first, a page at a time', async () => {
    const server = await readyServer(harness, alice);
    const ids = [(await newInvite(server.id)).id, (await newInvite(server.id)).id, (await newInvite(server.id)).id];
    const first = (await harness.inject({ method: 'GET', url: `${invitesOf(server.id)}?limit=2`, headers: withToken(alice) })).json<{ items: InviteDto[]; nextCursor: string }>();
    expect(first.items.map((i) => i.id)).toEqual([ids[2], ids[1]]);
    const second = await harness.inject({ method: 'GET', url: `${invitesOf(server.id)}?limit=2&cursor=${first.nextCursor}`, headers: withToken(alice) });
    expect(second.json()).toMatchObject({ items: [{ id: ids[0] }], nextCursor: null });
    expect((await harness.inject({ method: 'GET', url: invitesOf(server.id), headers: withToken(bob) })).statusCode).toBe(404);
  });
});

describe('revoking an invite', () => {
  it('marks the request, queues the revocation, hides the link, and re-queues without a second audit', async () => {
    const server = await readyServer(harness, alice);
    const invite = await newInvite(server.id);
    await activate(invite, domainOf(server));
    const answer = await revoke(alice, server.id, invite.id);
    expect(answer.statusCode).toBe(202);
    expect(answer.json<InviteDto>()).toMatchObject({ state: 'revoking', revokedAt: expect.any(String) as string });
    const job = await queue.getJob(inviteJobId(INVITE_REVOKE_JOB, invite.id));
    expect(job?.data).toEqual({ serverId: server.id, inviteId: invite.id });
    expect((await getInvite(alice, server.id, invite.id)).json<InviteDto>()).toMatchObject({ state: 'revoking', link: null });

    expect((await revoke(alice, server.id, invite.id)).statusCode).toBe(202);
    expect(await harness.prisma.auditLog.count({ where: { action: 'invite.revoke', targetId: invite.id } })).toBe(1);
    expect((await revoke(bob, server.id, invite.id)).statusCode).toBe(404);
  });
});

describe('when Redis is down', () => {
  it('answers 503 naming Redis to creating and revoking, and leaves the database as it was', async () => {
    const server = await readyServer(harness, alice);
    const invite = await newInvite(server.id);
    const before = await snapshotDatabase(harness.prisma);
    await harness.redis.pause();
    try {
      for (const [what, attempt] of [
        ['create', () => createInvite(alice, server.id, {})],
        ['revoke', () => revoke(alice, server.id, invite.id)],
      ] as const) {
        const answer = await attempt();
        expect(answer.statusCode, `${what}: ${answer.body}`).toBe(503);
        expect(answer.json<{ detail: string }>().detail).toContain('Redis is unreachable');
        expect(await snapshotDatabase(harness.prisma), what).toEqual(before);
      }
    } finally {
      await harness.redis.resume();
    }
  });
});

describe('logs', () => {
  it('never contain an invite link', async () => {
    // Its own link read through the API, besides those of whichever tests ran before it.
    const server = await readyServer(harness, alice);
    const invite = await newInvite(server.id);
    await activate(invite, domainOf(server));
    expect((await getInvite(alice, server.id, invite.id)).statusCode).toBe(200);
    const output = harness.logs.join('');
    expect(output).toContain('"incoming request"');
    for (const link of links) expect(output, 'an invite link reached the logs').not.toContain(link.split('=')[1]);
  });
});
