import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerContainerRuntime } from '../../worker/src/adapters/docker.container-runtime.js';
import {
  enqueueInviteCreate,
  enqueueInviteRevoke,
  enqueueUserCreate,
  enqueueUserDelete,
  enqueueUserPasswordReset,
  inviteUriContext,
  sealUserPassword,
  USER_CREATE_JOB,
  userJobId,
  XMPP_USERS_QUEUE,
} from '../../worker/src/contracts/xmpp-user-jobs.js';
import { prosodyListUsers } from '../../worker/src/provisioning/prosody-accounts.js';
import { createXmppUsersProcessor } from '../../worker/src/xmpp-users/xmpp-users.processor.js';
import { takeAccountCensus } from '../../worker/src/xmpp-users/account-census.js';
import { xml, type Element } from '@xmpp/client';
import { pebbleIssuers } from '../support/pebble.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { testEnv } from '../support/test-env.js';
import { connectAs, type XmppSession } from '../support/xmpp.js';
import { registerWithToken, tokenOf } from '../support/invite-registration.js';

// A user's life and an invite's, each step on what the one before made, then the server deleted under them: in order.
describe('XMPP users and invites: the API writes rows and enqueues, the worker makes Prosody agree', { shuffle: false }, () => {
  let harness: ProvisioningHarness;
  let serverId: string;
  let domain: string;
  let c2sPort: number;
  let trustedCaPems: string[];
  let queue: Queue;
  let queueEvents: QueueEvents;
  let worker: Worker;
  const containers = new DockerContainerRuntime(new Docker({ socketPath: testEnv().DOCKER_SOCKET }));
  const sessions: XmppSession[] = [];
  /** Every password and invite URI the test handled: none may show up in a payload or the timeline. */
  const secrets: string[] = [];
  const jobs: Job[] = [];

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(34_000);
    ({ serverId, domain } = await harness.placeOrder({ federation: false }));
    await harness.provision(serverId);
    // The lead wires this processor into the worker runtime; here it gets its own BullMQ worker.
    const connection = { host: '127.0.0.1', port: harness.redis.port, maxRetriesPerRequest: null };
    queue = new Queue(XMPP_USERS_QUEUE, { connection });
    queueEvents = new QueueEvents(XMPP_USERS_QUEUE, { connection });
    worker = new Worker(XMPP_USERS_QUEUE, createXmppUsersProcessor({ prisma: harness.prisma, secrets: harness.secrets, containers }, harness.config.deadlines.xmppUsersJobMs), {
      connection,
      concurrency: 4,
    });
    await queueEvents.waitUntilReady();
    await harness.waitForState(serverId, 'ready', 120_000);
    c2sPort = (await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId, purpose: 'c2s' } })).port;
    trustedCaPems = [(await pebbleIssuers()).root.toString()];
  });

  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await worker?.close();
    await Promise.all([queue?.close(), queueEvents?.close()]);
    await harness?.close();
  });

  const login = async (username: string, password: string) => {
    const session = await connectAs({ host: '127.0.0.1', port: c2sPort, domain, username, password, trustedCaPems, timeoutMs: 15_000 });
    sessions.push(session);
    return session;
  };

  /** Resolves when the server ends the session, with the stream error it gave; bounded in time. */
  const ended = (session: XmppSession) =>
    new Promise<string>((resolve, reject) => {
      let condition = '(none)';
      const timer = setTimeout(() => reject(new Error(`the server did not end ${session.jid}'s session within 10 s`)), 10_000);
      session.xmpp.on('error', (error: unknown) => {
        if (error instanceof Error && 'condition' in error && typeof error.condition === 'string') condition = error.condition;
      });
      session.xmpp.on('disconnect', () => {
        clearTimeout(timer);
        resolve(condition);
      });
    });

  /** Enqueues like the API and waits for the worker; resolves with the job and its return value. */
  const run = async (enqueued: Promise<Job>) => {
    const job = await enqueued;
    jobs.push(job);
    const result: unknown = await job.waitUntilFinished(queueEvents, 30_000);
    return { job, result };
  };

  /**
   * The reason a job fails with. Subscribed before the job is added: a failed job is removed at
   * once (removeOnFail), so waiting on the job itself could miss a quick failure.
   */
  const failureOf = (jobId: string) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`job ${jobId} did not fail within 30 s`)), 30_000);
      const onFailed = (event: { jobId: string; failedReason: string }) => {
        if (event.jobId !== jobId) return;
        clearTimeout(timer);
        queueEvents.off('failed', onFailed);
        resolve(event.failedReason);
      };
      queueEvents.on('failed', onFailed);
    });

  /** What the API does to add a user: the row, then the password sealed to the row's id. */
  const apiCreateUser = async (localpart: string, password: string) => {
    secrets.push(password);
    const row = await harness.prisma.xmppUser.create({ data: { serverId, localpart } });
    const user = await harness.prisma.xmppUser.update({
      where: { id: row.id },
      data: { secret: { create: sealUserPassword(harness.secrets, row.id, password) } },
    });
    return { serverId, userId: user.id, secretId: user.secretId ?? '' };
  };

  const userRow = (userId: string) => harness.prisma.xmppUser.findUniqueOrThrow({ where: { id: userId }, include: { secret: true } });
  const eventsOf = (step: string) => harness.prisma.provisioningEvent.findMany({ where: { serverId, step }, orderBy: { id: 'asc' } });

  describe('users', () => {
    let alice: { serverId: string; userId: string; secretId: string };
    let alicePassword = 'alice: correct horse battery staple';

    it('user.create: the account is created with the sealed password and a real client logs in', async () => {
      alice = await apiCreateUser('alice', alicePassword);
      const { result } = await run(enqueueUserCreate(queue, alice));
      expect(result).toBe(`Created alice@${domain}`);

      const row = await userRow(alice.userId);
      expect(row).toMatchObject({ state: 'active', lastError: null });
      expect(row.secret?.purpose).toBe('xmpp_user_password');
      const session = await login('alice', alicePassword);
      expect(session.jid.startsWith(`alice@${domain}/`)).toBe(true);
      expect(await eventsOf('user.create')).toEqual([expect.objectContaining({ status: 'succeeded', detail: { userId: alice.userId } })]);
    });

    it('user.create: enqueueing it again adds nothing, and running it again converges', async () => {
      const first = jobs.at(-1);
      const again = await enqueueUserCreate(queue, alice);
      expect(again.id).toBe(first?.id);
      expect(await queue.getJobCounts('wait', 'active', 'delayed')).toEqual({ wait: 0, active: 0, delayed: 0 });

      // A second run of the same job (at-least-once delivery) sets the same password again.
      await first?.retry('completed');
      expect(await first?.waitUntilFinished(queueEvents, 30_000)).toBe(`alice@${domain} exists with its password set`);
      expect((await prosodyListUsers(containers, serverId, domain)).filter((jid) => jid === `alice@${domain}`)).toHaveLength(1);
      expect(await userRow(alice.userId)).toMatchObject({ state: 'active', lastError: null });
      await login('alice', alicePassword);
    });

    it('user.reset-password: the old password is refused, the new one works, open sessions end', async () => {
      const before = await login('alice', alicePassword);
      const sessionEnded = ended(before);

      // What the API does: seal the new password in a new secret, point the row at it, wipe the old one.
      const newPassword = 'alice: a brand new passphrase';
      secrets.push(newPassword);
      const old = await userRow(alice.userId);
      const updated = await harness.prisma.xmppUser.update({
        where: { id: alice.userId },
        data: { secret: { create: sealUserPassword(harness.secrets, alice.userId, newPassword) } },
      });
      await harness.prisma.encryptedSecret.update({
        where: { id: old.secretId ?? '' },
        data: { ciphertext: new Uint8Array(0), iv: new Uint8Array(0), authTag: new Uint8Array(0), destroyedAt: new Date() },
      });
      const reset = { serverId, userId: alice.userId, secretId: updated.secretId ?? '' };
      const { job, result } = await run(enqueueUserPasswordReset(queue, reset));
      expect(job.id).toBe(`user.reset-password.${alice.userId}.${reset.secretId}`);
      expect(result).toBe(`Set a new password for alice@${domain} and ended its sessions`);

      expect(await sessionEnded).toBe('reset');
      await expect(login('alice', alicePassword)).rejects.toMatchObject({ failure: 'auth' });
      alicePassword = newPassword;
      await login('alice', alicePassword);
      alice = reset;
    });

    it('user.delete: the account is gone, its sessions end, login is refused, the secret is wiped', async () => {
      const session = await login('alice', alicePassword);
      const sessionEnded = ended(session);
      await harness.prisma.xmppUser.update({ where: { id: alice.userId }, data: { state: 'deleting' } });
      const { result } = await run(enqueueUserDelete(queue, alice));
      expect(result).toBe(`Deleted alice@${domain} and ended its sessions`);

      expect(await sessionEnded).toBe('not-authorized');
      await expect(login('alice', alicePassword)).rejects.toMatchObject({ failure: 'auth' });
      expect(await prosodyListUsers(containers, serverId, domain)).not.toContain(`alice@${domain}`);
      const row = await userRow(alice.userId);
      expect(row.state).toBe('deleted');
      expect(row.secret?.destroyedAt).not.toBeNull();
      expect(row.secret?.ciphertext.length).toBe(0);
    });

    it('a stale request does nothing: creating a user that is being deleted, deleting one that is active', async () => {
      const bob = await apiCreateUser('bob', 'bob: a perfectly fine password');
      await harness.prisma.xmppUser.update({ where: { id: bob.userId }, data: { state: 'deleting' } });
      expect((await run(enqueueUserCreate(queue, bob))).result).toBe('Nothing to do: the user is deleting');
      await harness.prisma.xmppUser.update({ where: { id: bob.userId }, data: { state: 'active' } });
      expect((await run(enqueueUserDelete(queue, bob))).result).toBe('Nothing to do: the user is active');
      expect(await prosodyListUsers(containers, serverId, domain)).not.toContain(`bob@${domain}`);
    });

    it('a localpart outside the grammar fails at once: the row stays pending with the reason, no retry', async () => {
      const bad = await apiCreateUser('Not Valid', 'a password nobody will use');
      const failure = failureOf(userJobId(USER_CREATE_JOB, bad));
      const job = await enqueueUserCreate(queue, bad);
      jobs.push(job);
      expect(await failure).toMatch(/username may contain/);
      const row = await userRow(bad.userId);
      expect(row.state).toBe('pending');
      expect(row.lastError).toMatch(/username may contain/);
      const failures = (await eventsOf('user.create')).filter((e) => e.jobId === job.id);
      expect(failures.map((e) => [e.status, e.attempt])).toEqual([['failed', 1]]);
    });
  });

  describe('invites', () => {
    let invite: { serverId: string; inviteId: string };
    let uri: string;

    const inviteRow = (inviteId: string) => harness.prisma.invite.findUniqueOrThrow({ where: { id: inviteId }, include: { uriSecret: true } });
    const openUri = async (inviteId: string) => {
      const row = await inviteRow(inviteId);
      if (!row.uriSecret) throw new Error('the invite has no URI');
      return harness.secrets.open(row.uriSecret, inviteUriContext(inviteId));
    };

    it('invite.create: the URI is stored sealed, of the form xmpp:DOMAIN?register;preauth=TOKEN, expiring when the row says', async () => {
      const requested = new Date(Date.now() + 3_600_000);
      const row = await harness.prisma.invite.create({ data: { serverId, expiresAt: requested } });
      invite = { serverId, inviteId: row.id };
      const { result } = await run(enqueueInviteCreate(queue, invite));
      expect(result).toMatch(/^Created an invite, valid until /);

      const stored = await inviteRow(invite.inviteId);
      expect(stored).toMatchObject({ state: 'active', lastError: null });
      expect(stored.uriSecret?.purpose).toBe('invite_uri');
      // What Prosody enforces: the requested time, in whole seconds.
      expect(stored.expiresAt.getTime()).toBe(Math.floor(requested.getTime() / 1000) * 1000);
      uri = await openUri(invite.inviteId);
      secrets.push(uri, tokenOf(uri));
      expect(uri).toMatch(new RegExp(`^xmpp:${domain.replaceAll('.', '\\.')}\\?register;preauth=[A-Za-z0-9_-]{16,}$`));
    });

    it('invite.create: a run after a crash before the URI was stored finds the same invite, and a stored one is left alone', async () => {
      const job = jobs.at(-1);
      // As if the worker died after Prosody minted the invite, before the row was written.
      await harness.prisma.invite.update({ where: { id: invite.inviteId }, data: { state: 'pending', uriSecretId: null } });
      await job?.retry('completed');
      await job?.waitUntilFinished(queueEvents, 30_000);
      expect(await openUri(invite.inviteId)).toBe(uri);

      const secretId = (await inviteRow(invite.inviteId)).uriSecretId;
      await job?.retry('completed');
      expect(await job?.waitUntilFinished(queueEvents, 30_000)).toBe('The invite was already created');
      expect((await inviteRow(invite.inviteId)).uriSecretId).toBe(secretId);
    });

    it('a real client registers an account with the invite, once', async () => {
      const password = 'carol: registered through an invite';
      secrets.push(password);
      expect(await registerWithInvite(uri, 'carol', password)).toEqual({ preauth: 'ok', register: 'ok' });
      await login('carol', password);
      // Single use: the token is spent.
      expect(await registerWithInvite(uri, 'dave', 'dave: too late for this invite')).toEqual({ preauth: 'forbidden', register: 'not-acceptable' });
    });

    it('invite.revoke: registering with a revoked invite fails, and its sealed URI is wiped', async () => {
      const row = await harness.prisma.invite.create({ data: { serverId, expiresAt: new Date(Date.now() + 3_600_000) } });
      const second = { serverId, inviteId: row.id };
      await run(enqueueInviteCreate(queue, second));
      const secondUri = await openUri(second.inviteId);
      secrets.push(secondUri, tokenOf(secondUri));

      await harness.prisma.invite.update({ where: { id: second.inviteId }, data: { revokedAt: new Date() } });
      const { result } = await run(enqueueInviteRevoke(queue, second));
      expect(result).toBe('Revoked the invite');

      expect(await registerWithInvite(secondUri, 'erin', 'erin: should never get in')).toEqual({ preauth: 'forbidden', register: 'not-acceptable' });
      expect(await prosodyListUsers(containers, serverId, domain)).not.toContain(`erin@${domain}`);
      const revoked = await inviteRow(second.inviteId);
      expect(revoked.state).toBe('revoked');
      expect(revoked.uriSecret?.destroyedAt).not.toBeNull();
      expect(revoked.uriSecret?.ciphertext.length).toBe(0);
    });

    it('invite.create after a revocation was requested mints nothing', async () => {
      const row = await harness.prisma.invite.create({ data: { serverId, expiresAt: new Date(Date.now() + 3_600_000), revokedAt: new Date() } });
      const { result } = await run(enqueueInviteCreate(queue, { serverId, inviteId: row.id }));
      expect(result).toBe('Nothing to do: the invite is revoked');
      expect((await inviteRow(row.id)).uriSecretId).toBeNull();
    });

    it('the account census finds carol, made through the invite, so she holds a seat, and marks that invite redeemed', async () => {
      const unused = await harness.prisma.invite.create({ data: { serverId, expiresAt: new Date(Date.now() + 3_600_000) } });
      await run(enqueueInviteCreate(queue, { serverId, inviteId: unused.id }));
      secrets.push(await openUri(unused.id));

      const result = await takeAccountCensus({ prisma: harness.prisma, containers, settings: harness.config.jobs }, new Date());
      expect(result).toEqual({ counted: 1, failed: [], redeemed: 1, yieldedMs: 0 });
      const redeemed = await inviteRow(invite.inviteId);
      expect(redeemed.state).toBe('redeemed');
      expect(redeemed.redeemedAt).toBeInstanceOf(Date);
      expect((await inviteRow(unused.id)).state).toBe('active');
      const server = await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } });
      expect(server.prosodyAccounts).toContain('carol');
      expect(server.prosodyAccounts).not.toContain('admin');
      expect(server.prosodyAccounts).not.toContain('erin');
      expect(server.accountsCountedAt).not.toBeNull();
    });

    it('the customer\'s admin cannot mint invites, and so accounts, through ad-hoc commands', async () => {
      const admin = await harness.adminPassword(serverId);
      const session = await login('admin', admin.password);
      const request = (type: 'get' | 'set', payload: Element) => session.xmpp.iqCaller.request(xml('iq', { type, to: domain }, payload), 10_000);
      const listed = await request('get', xml('query', { xmlns: 'http://jabber.org/protocol/disco#items', node: 'http://jabber.org/protocol/commands' })).then(
        (reply) => reply.getChild('query')?.getChildren('item').map((item) => String(item.attrs.node)) ?? [],
        () => [],
      );
      expect(listed.filter((node) => node.includes('invite'))).toEqual([]);
      for (const node of ['urn:xmpp:invite#create-account', 'urn:xmpp:invite#invite']) {
        const refused: unknown = await request('set', xml('command', { xmlns: 'http://jabber.org/protocol/commands', node, action: 'execute' })).then(
          () => 'executed',
          (error: unknown) => (error as { condition?: unknown }).condition,
        );
        expect(refused).toMatch(/^(item-not-found|service-unavailable|feature-not-implemented)$/);
      }
    });
  });

  it('payloads carry ids only, and no password or invite URI reaches the timeline or a row error', async () => {
    // As enqueued, and as Redis holds them now.
    const stored = await queue.getJobs(['completed', 'failed', 'wait', 'active', 'delayed']);
    expect(jobs.length).toBeGreaterThan(8);
    expect(stored.length).toBeGreaterThan(5);
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const payloads = [...jobs, ...stored].map((job) => job.data as Record<string, unknown>);
    for (const payload of payloads) {
      for (const [key, value] of Object.entries(payload)) {
        expect(['serverId', 'userId', 'secretId', 'inviteId']).toContain(key);
        expect(value).toMatch(uuid);
      }
    }
    const events = await harness.prisma.provisioningEvent.findMany({ where: { serverId } });
    const errors = [
      ...(await harness.prisma.xmppUser.findMany({ where: { serverId } })).map((u) => u.lastError),
      ...(await harness.prisma.invite.findMany({ where: { serverId } })).map((i) => i.lastError),
    ];
    const visible = JSON.stringify([payloads, events.map((e) => [e.message, e.detail]), errors]);
    expect(secrets.length).toBeGreaterThan(6);
    for (const secret of secrets) expect(visible).not.toContain(secret);
  });

  it('after the server is deleted: creating a user fails for good, deleting one succeeds without Prosody', async () => {
    const late = await apiCreateUser('frank', 'frank: ordered too late');
    await harness.deprovision(serverId);
    await harness.waitForState(serverId, 'deleted', 60_000);

    const failure = failureOf(userJobId(USER_CREATE_JOB, late));
    await enqueueUserCreate(queue, late);
    expect(await failure).toBe('The server has been deleted');
    expect(await userRow(late.userId)).toMatchObject({ state: 'pending', lastError: 'The server has been deleted' });

    await harness.prisma.xmppUser.update({ where: { id: late.userId }, data: { state: 'deleting' } });
    expect((await run(enqueueUserDelete(queue, late))).result).toBe('Removed the user: its server is deleted');
    expect((await userRow(late.userId)).state).toBe('deleted');
  });

  /** A client registering with an invite the way Conversations does (see registerWithToken). */
  function registerWithInvite(inviteUri: string, username: string, password: string): Promise<{ preauth: string; register: string }> {
    return registerWithToken({ domain, port: c2sPort, trust: trustedCaPems }, tokenOf(inviteUri), username, password);
  }
});
