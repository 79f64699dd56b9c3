import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  USER_CREATE_JOB,
  USER_DELETE_JOB,
  USER_RESET_PASSWORD_JOB,
  userJobId,
  XMPP_USERS_QUEUE,
  xmppUserPasswordContext,
  type UserJobName,
} from '../../worker/src/contracts/xmpp-user-jobs.js';
import type { SecretSealer } from '../../worker/src/crypto/secret-sealer.js';
import { snapshotDatabase } from '../support/api-db-snapshot.js';
import { startApiHarness, withCookie, withToken, type ApiHarness, type TestAccount } from '../support/api-harness.js';
import { readyServer } from '../support/api-tenant-fixtures.js';

interface UserDto {
  id: string;
  serverId: string;
  localpart: string;
  jid: string;
  state: string;
  lastError: string | null;
  passwordRevealedAt: string | null;
  createdAt: string;
}

let harness: ApiHarness;
let alice: TestAccount;
let bob: TestAccount;
let secrets: SecretSealer;
let queueConnection: Redis;
let queue: Queue;
/** Every password the API revealed: none may reach the logs. */
const revealed: string[] = [];

beforeAll(async () => {
  harness = await startApiHarness({ captureLogs: true });
  [alice, bob] = [await harness.signUp(), await harness.signUp()];
  secrets = harness.app.secrets;
  queueConnection = new Redis(harness.redis.url, { maxRetriesPerRequest: null });
  queue = new Queue(XMPP_USERS_QUEUE, { connection: queueConnection });
});

afterAll(async () => {
  await queue?.close();
  queueConnection?.disconnect();
  await harness?.close();
});

const usersOf = (serverId: string) => `/api/v1/servers/${serverId}/users`;
const localpart = () => `u${randomBytes(4).toString('hex')}`;
const createUser = (as: TestAccount, serverId: string, payload: unknown) =>
  harness.inject({ method: 'POST', url: usersOf(serverId), headers: withToken(as), payload: payload as object });
const reveal = (as: TestAccount, serverId: string, id: string) =>
  harness.inject({ method: 'POST', url: `${usersOf(serverId)}/${id}/password/reveal`, headers: withToken(as), payload: {} });
const reset = (as: TestAccount, serverId: string, id: string) =>
  harness.inject({ method: 'POST', url: `${usersOf(serverId)}/${id}/password`, headers: withToken(as), payload: {} });
const remove = (as: TestAccount, serverId: string, id: string) => harness.inject({ method: 'DELETE', url: `${usersOf(serverId)}/${id}`, headers: withToken(as) });

async function newUser(serverId: string, name = localpart()): Promise<UserDto> {
  const answer = await createUser(alice, serverId, { localpart: name });
  expect(answer.statusCode, answer.body).toBe(202);
  return answer.json<{ user: UserDto }>().user;
}

async function revealOnce(serverId: string, id: string): Promise<string> {
  const answer = await reveal(alice, serverId, id);
  expect(answer.statusCode, answer.body).toBe(200);
  const { password } = answer.json<{ password: string }>();
  revealed.push(password);
  return password;
}

/** The queued job, asserted to carry ids only. */
async function queuedJob(name: UserJobName, serverId: string, userId: string, secretId: string) {
  const job = await queue.getJob(userJobId(name, { userId, secretId }));
  expect(job?.name).toBe(name);
  expect(job?.data).toEqual({ serverId, userId, secretId });
  return job;
}

const userRow = (id: string) => harness.prisma.xmppUser.findUniqueOrThrow({ where: { id }, include: { secret: true } });

describe('creating an XMPP user', () => {
  it('writes a pending user with a generated password sealed to it, queues the job with ids only, and audits it', async () => {
    const server = await readyServer(harness, alice);
    const name = localpart();
    const answer = await createUser(alice, server.id, { localpart: name });
    expect(answer.statusCode).toBe(202);
    const { user, next } = answer.json<{ user: UserDto; next: string }>();
    expect(user).toMatchObject({ serverId: server.id, localpart: name, jid: `${name}@${server.name}.${harness.config.platformZone}`, state: 'pending', passwordRevealedAt: null });
    expect(next).toContain(`POST ${usersOf(server.id)}/${user.id}/password/reveal`);
    expect(Object.keys(user).sort()).toEqual(['createdAt', 'id', 'jid', 'lastError', 'localpart', 'passwordRevealedAt', 'serverId', 'state']);

    const row = await userRow(user.id);
    expect(row.secret?.purpose).toBe('xmpp_user_password');
    const password = secrets.open(row.secret!, xmppUserPasswordContext(user.id));
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(answer.body).not.toContain(password);

    const job = await queuedJob(USER_CREATE_JOB, server.id, user.id, row.secretId!);
    expect(JSON.stringify(job?.data)).not.toContain(password);
    const audit = await harness.prisma.auditLog.findFirstOrThrow({ where: { action: 'xmpp_user.create', targetId: user.id } });
    expect(audit).toMatchObject({ actorId: alice.id, targetType: 'xmpp_user', detail: { serverId: server.id, localpart: name } });
  });

  it('works with the session cookie and its CSRF token too', async () => {
    const server = await readyServer(harness, alice);
    const answer = await harness.inject({ method: 'POST', url: usersOf(server.id), headers: withCookie(alice), payload: { localpart: localpart() } });
    expect(answer.statusCode).toBe(202);
  });

  it.each([
    ['upper case', { localpart: 'Alice' }, 'lowercase letters'],
    ['a leading dot', { localpart: '.alice' }, 'start and end with a letter or digit'],
    ['two dots in a row', { localpart: 'a..b' }, 'lowercase letters'],
    ['an @', { localpart: 'a@b' }, 'lowercase letters'],
    ['65 characters', { localpart: 'a'.repeat(65) }, '1-64'],
    ['an empty name', { localpart: '' }, 'lowercase letters'],
    ['no name', {}, 'localpart is required'],
    ['a number', { localpart: 7 }, 'localpart must be a string'],
    ['an unknown field', { localpart: 'fine', password: 'chosen by me' }, 'unknown field "password"'],
  ])('refuses %s with a 400 that says what is allowed, and writes nothing', async (_what, payload, hint) => {
    const server = await readyServer(harness, alice);
    const before = await snapshotDatabase(harness.prisma);
    const answer = await createUser(alice, server.id, payload);
    expect(answer.statusCode).toBe(400);
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(answer.json<{ detail: string }>().detail).toContain(hint);
    expect(await snapshotDatabase(harness.prisma)).toEqual(before);
  });

  it('refuses a username that is taken, the admin account\'s and the platform\'s own', async () => {
    const server = await readyServer(harness, alice);
    const user = await newUser(server.id);
    const taken = await createUser(alice, server.id, { localpart: user.localpart });
    expect(taken.statusCode).toBe(409);
    expect(taken.json<{ detail: string }>().detail).toContain('already exists; choose another username');
    const admin = await createUser(alice, server.id, { localpart: 'admin' });
    expect(admin.statusCode).toBe(409);
    expect(admin.json<{ detail: string }>().detail).toContain('admin account');
    // The compliance checks' throwaway accounts are the platform's, not seats.
    const platforms = await createUser(alice, server.id, { localpart: 'parley-check-0123456789ab' });
    expect(platforms.statusCode).toBe(409);
    expect(platforms.json<{ errors: { field: string }[] }>().errors.map((e) => e.field)).toEqual(['localpart']);
    expect(await harness.prisma.xmppUser.count({ where: { serverId: server.id } })).toBe(1);
  });

  it.each([
    ['still being set up', { state: 'configuring' as const }, 'still being set up'],
    ['stopped', { state: 'stopped' as const, desiredState: 'stopped' as const }, '"action":"start"'],
    ['being stopped', { desiredState: 'stopped' as const }, 'Start it'],
    ['failed', { state: 'failed' as const, stateReason: 'Issue certificate: urn:ietf:params:acme:error:rejectedIdentifier', stateReasonType: 'acme_rejected' }, "refused to issue a certificate for your server's names"],
    ['being deleted', { desiredState: 'deleted' as const }, 'being deleted'],
  ])('refuses a server that is %s with a 409 that says why', async (_what, data, hint) => {
    const server = await readyServer(harness, alice);
    await harness.prisma.server.update({ where: { id: server.id }, data });
    const answer = await createUser(alice, server.id, { localpart: localpart() });
    expect(answer.statusCode).toBe(409);
    expect(answer.json<{ detail: string }>().detail).toContain(hint);
    expect(await harness.prisma.xmppUser.count({ where: { serverId: server.id } })).toBe(0);
  });

  it('enforces the plan\'s users per server, counting open invites, and says what to do', async () => {
    const server = await readyServer(harness, alice);
    const plan = await harness.prisma.plan.create({
      data: { code: `tiny${randomBytes(3).toString('hex')}`, name: 'Tiny', maxServers: 1, maxUsersPerServer: 2, storageMiB: 64, memoryMiB: 64, cpuMillis: 100, pidsLimit: 32 },
    });
    await harness.prisma.server.update({ where: { id: server.id }, data: { planId: plan.id } });
    await newUser(server.id);
    const invite = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/invites`, headers: withToken(alice), payload: {} });
    expect(invite.statusCode).toBe(202);

    const before = await snapshotDatabase(harness.prisma);
    const answer = await createUser(alice, server.id, { localpart: localpart() });
    expect(answer.statusCode).toBe(409);
    expect(answer.json<{ detail: string }>().detail).toMatch(/Tiny plan allows 2 users per server, and 1 account and 1 open invite take them all\. Delete a user .* or revoke an invite/);
    expect(await snapshotDatabase(harness.prisma)).toEqual(before);

    // A revoked invite frees its seat.
    await harness.prisma.invite.update({ where: { id: invite.json<{ id: string }>().id }, data: { state: 'revoked', revokedAt: new Date() } });
    expect((await createUser(alice, server.id, { localpart: localpart() })).statusCode).toBe(202);
  });

  it('answers 404 for a server of another account, or none', async () => {
    const server = await readyServer(harness, alice);
    const answer = await createUser(bob, server.id, { localpart: localpart() });
    expect(answer.statusCode).toBe(404);
    expect(answer.json<{ detail: string }>().detail).toContain('GET /api/v1/servers');
    expect((await createUser(alice, '00000000-0000-4000-8000-000000000000', { localpart: localpart() })).statusCode).toBe(404);
  });
});

describe('revealing a password', () => {
  it('shows the generated password once, with no-store, then answers 410 saying to reset', async () => {
    const server = await readyServer(harness, alice);
    const user = await newUser(server.id);
    const first = await reveal(alice, server.id, user.id);
    expect(first.statusCode).toBe(200);
    expect(first.headers['cache-control']).toBe('no-store');
    const { jid, password } = first.json<{ jid: string; password: string }>();
    revealed.push(password);
    expect(jid).toBe(user.jid);
    expect(password).toBe(secrets.open((await userRow(user.id)).secret!, xmppUserPasswordContext(user.id)));

    const second = await reveal(alice, server.id, user.id);
    expect(second.statusCode).toBe(410);
    expect(second.json<{ detail: string }>().detail).toContain(`POST ${usersOf(server.id)}/${user.id}/password`);
    expect(second.body).not.toContain(password);

    const shown = await harness.inject({ method: 'GET', url: `${usersOf(server.id)}/${user.id}`, headers: withToken(alice) });
    expect(shown.json<UserDto>().passwordRevealedAt).not.toBeNull();
    expect(shown.body).not.toContain(password);
    const audit = await harness.prisma.auditLog.findMany({ where: { action: 'xmpp_user.password_reveal', targetId: user.id } });
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit.map((row) => row.detail))).not.toContain(password);
  });

  it('never reveals a user\'s password to an operator, whose attempt leaves the owner\'s reveal unspent', async () => {
    const server = await readyServer(harness, alice);
    const user = await newUser(server.id);
    const operator = await harness.signUp({ operator: true });
    const attempt = await reveal(operator, server.id, user.id);
    expect(attempt.statusCode).toBe(403);
    expect(attempt.json<{ detail: string }>().detail).toContain('only to the account that owns it');
    expect(await revealOnce(server.id, user.id)).toMatch(/\S{12,}/);
  });

  it('lets exactly one of two concurrent reveals have it', async () => {
    const server = await readyServer(harness, alice);
    const user = await newUser(server.id);
    const answers = await Promise.all([reveal(alice, server.id, user.id), reveal(alice, server.id, user.id)]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 410]);
    revealed.push(...answers.filter((a) => a.statusCode === 200).map((a) => a.json<{ password: string }>().password));
  });
});

describe('listing and reading users', () => {
  it('lists a server\'s users by username, a page at a time, with no secrets', async () => {
    const server = await readyServer(harness, alice);
    for (const name of ['carol', 'alice', 'bob']) await newUser(server.id, name);
    const first = await harness.inject({ method: 'GET', url: `${usersOf(server.id)}?limit=2`, headers: withToken(alice) });
    expect(first.statusCode).toBe(200);
    const page = first.json<{ items: UserDto[]; nextCursor: string | null }>();
    expect(page.items.map((u) => u.localpart)).toEqual(['alice', 'bob']);
    expect(page.nextCursor).toBe('bob');
    const second = await harness.inject({ method: 'GET', url: `${usersOf(server.id)}?limit=2&cursor=bob`, headers: withToken(alice) });
    expect(second.json<{ items: UserDto[]; nextCursor: string | null }>()).toMatchObject({ items: [{ localpart: 'carol' }], nextCursor: null });
    expect(first.body).not.toMatch(/password"\s*:\s*"/);

    expect((await harness.inject({ method: 'GET', url: usersOf(server.id), headers: withToken(bob) })).statusCode).toBe(404);
  });
});

describe('deleting a user', () => {
  it('marks it deleting, queues the deletion, and re-queues (without a second audit) when asked again', async () => {
    const server = await readyServer(harness, alice);
    const user = await newUser(server.id);
    const answer = await remove(alice, server.id, user.id);
    expect(answer.statusCode).toBe(202);
    expect(answer.json<UserDto>().state).toBe('deleting');
    const row = await userRow(user.id);
    await queuedJob(USER_DELETE_JOB, server.id, user.id, row.secretId!);
    expect((await remove(alice, server.id, user.id)).statusCode).toBe(202);
    expect(await harness.prisma.auditLog.count({ where: { action: 'xmpp_user.delete', targetId: user.id } })).toBe(1);

    const resetting = await reset(alice, server.id, user.id);
    expect(resetting.statusCode).toBe(409);
    expect(resetting.json<{ detail: string }>().detail).toContain('being deleted');
    const again = await createUser(alice, server.id, { localpart: user.localpart });
    expect(again.statusCode).toBe(409);
    expect(again.json<{ detail: string }>().detail).toContain('create it again once it is gone');
  });

  it('takes over a deleted user\'s row when its username is used again', async () => {
    const server = await readyServer(harness, alice);
    const user = await newUser(server.id);
    expect((await remove(alice, server.id, user.id)).statusCode).toBe(202);
    // What the worker does once the account is gone.
    const old = await userRow(user.id);
    await harness.prisma.xmppUser.update({ where: { id: user.id }, data: { state: 'deleted' } });
    expect((await harness.inject({ method: 'GET', url: `${usersOf(server.id)}/${user.id}`, headers: withToken(alice) })).statusCode).toBe(404);
    expect((await reveal(alice, server.id, user.id)).statusCode).toBe(404);

    const recreated = await newUser(server.id, user.localpart);
    expect(recreated).toMatchObject({ id: user.id, state: 'pending', passwordRevealedAt: null });
    const row = await userRow(user.id);
    expect(row.secretId).not.toBe(old.secretId);
    await queuedJob(USER_CREATE_JOB, server.id, user.id, row.secretId!);
    await revealOnce(server.id, user.id);
  });
});

describe('resetting a password', () => {
  it('seals a new password in a new secret, wipes the old one, queues the reset, and the new one can be revealed once', async () => {
    const server = await readyServer(harness, alice);
    const user = await newUser(server.id);
    const first = await revealOnce(server.id, user.id);
    const before = await userRow(user.id);

    const answer = await reset(alice, server.id, user.id);
    expect(answer.statusCode).toBe(202);
    expect(answer.json<{ user: UserDto; next: string }>()).toMatchObject({ user: { id: user.id, passwordRevealedAt: null }, next: expect.stringContaining('/password/reveal') as string });
    const after = await userRow(user.id);
    expect(after.secretId).not.toBe(before.secretId);
    const wiped = await harness.prisma.encryptedSecret.findUniqueOrThrow({ where: { id: before.secretId! } });
    expect(wiped.destroyedAt).not.toBeNull();
    expect(wiped.ciphertext).toHaveLength(0);
    await queuedJob(USER_RESET_PASSWORD_JOB, server.id, user.id, after.secretId!);

    const second = await revealOnce(server.id, user.id);
    expect(second).not.toBe(first);
    const audit = await harness.prisma.auditLog.findFirstOrThrow({ where: { action: 'xmpp_user.password_reset', targetId: user.id } });
    expect(JSON.stringify(audit.detail)).not.toContain(second);
  });

  it('answers 404 to another account', async () => {
    const server = await readyServer(harness, alice);
    const user = await newUser(server.id);
    expect((await reset(bob, server.id, user.id)).statusCode).toBe(404);
    expect((await reveal(bob, server.id, user.id)).statusCode).toBe(404);
    expect((await remove(bob, server.id, user.id)).statusCode).toBe(404);
  });
});

describe('when Redis is down', () => {
  it('answers 503 naming Redis to every user write, and leaves the database as it was', async () => {
    const server = await readyServer(harness, alice);
    const user = await newUser(server.id);
    const password = await revealOnce(server.id, user.id);
    const gone = await newUser(server.id);
    await harness.prisma.xmppUser.update({ where: { id: gone.id }, data: { state: 'deleted' } });

    const before = await snapshotDatabase(harness.prisma);
    await harness.redis.pause();
    try {
      for (const [what, attempt] of [
        ['create', () => createUser(alice, server.id, { localpart: localpart() })],
        ['create over a deleted user', () => createUser(alice, server.id, { localpart: gone.localpart })],
        ['reset', () => reset(alice, server.id, user.id)],
        ['delete', () => remove(alice, server.id, user.id)],
      ] as const) {
        const answer = await attempt();
        expect(answer.statusCode, `${what}: ${answer.body}`).toBe(503);
        expect(answer.json<{ detail: string }>().detail).toContain('Redis is unreachable');
        expect(await snapshotDatabase(harness.prisma), what).toEqual(before);
      }
    } finally {
      await harness.redis.resume();
    }
    // The undone reset restored the old secret intact.
    expect(secrets.open((await userRow(user.id)).secret!, xmppUserPasswordContext(user.id))).toBe(password);
  });
});

describe('logs', () => {
  it('never contain a password the API generated or revealed', async () => {
    // Its own password revealed through the API, besides those of whichever tests ran before it.
    const server = await readyServer(harness, alice);
    await revealOnce(server.id, (await newUser(server.id)).id);
    const output = harness.logs.join('');
    expect(output).toContain('"incoming request"');
    for (const password of revealed) expect(output, 'a password reached the logs').not.toContain(password);
  });
});
