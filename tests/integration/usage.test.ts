import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerContainerRuntime } from '../../worker/src/adapters/docker.container-runtime.js';
import { takeAccountCensus } from '../../worker/src/xmpp-users/account-census.js';
import { uploadRandomFile } from '../support/http-upload.js';
import { pebbleIssuers } from '../support/pebble.js';
import { signUpWithToken, startPlatformApi, type ApiRequest, type ListeningApi } from '../support/platform-api.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { testEnv } from '../support/test-env.js';
import { connectAs, nextMessage, sendMessage, sendPresence, type XmppSession } from '../support/xmpp.js';

interface Usage {
  sampledAt: string | null;
  latest: { registeredUsers: number; onlineUsers: number; uploadBytes: number; archiveBytes: number } | null;
  messagesToday: number;
  ranges: { days: number; points: { registeredUsers: number; onlineUsers: number; storageBytes: number }[]; messagesPerDay: { day: string; messages: number }[] }[];
}

const SENT_BY_ALICE = 6;
const SENT_BY_BOB = 2;
const FILE_BYTES = 48_000;

// A customer's usage page against what real clients did: two accounts log in, send messages and
// share a file on a server ordered through the API; the worker's census counts them, and the
// API answers the counts, after letting an order on the same node go first.
// One server's usage as it grows, in order: nobody, then two users and their messages, then both gone.
describe('usage a customer sees, from what real clients did', { shuffle: false }, () => {
  let harness: ProvisioningHarness;
  let api: ListeningApi;
  let request: ApiRequest;
  let serverId: string;
  let domain: string;
  let c2sPort: number;
  let trust: string[];
  const containers = new DockerContainerRuntime(new Docker({ socketPath: testEnv().DOCKER_SOCKET }));
  const sessions: XmppSession[] = [];

  const census = () => takeAccountCensus({ prisma: harness.prisma, containers, settings: harness.config.jobs }, new Date());
  const usage = async () => {
    const answer = await request('GET', `/servers/${serverId}/usage`);
    expect(answer.status).toBe(200);
    return (await answer.json()) as Usage;
  };
  const login = async (username: string) => {
    const session = await connectAs({ host: '127.0.0.1', port: c2sPort, domain, username, password: `${username}-password-1`, trustedCaPems: trust, timeoutMs: 15_000 });
    sessions.push(session);
    await sendPresence(session);
    return session;
  };

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(45_500);
    await harness.startWorker();
    api = await startPlatformApi(harness);
    request = await signUpWithToken(api.url);
    const ordered = await request('POST', '/servers', { name: `u${Date.now().toString(36)}` });
    expect(ordered.status).toBe(202);
    ({ id: serverId, domain } = (await ordered.json()) as { id: string; domain: string });
    await harness.waitForState(serverId, 'ready', 120_000);
    c2sPort = (await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId, purpose: 'c2s' } })).port;
    trust = [(await pebbleIssuers()).root.toString()];
  }, 180_000);

  afterAll(async () => {
    await Promise.all(sessions.map((session) => session.close()));
    await api?.close();
    if (serverId) {
      await harness.deprovision(serverId);
      await harness.waitForState(serverId, 'deleted', 60_000);
    }
    await harness?.close();
  });

  it('counts nobody before anyone uses the server', async () => {
    expect((await usage()).sampledAt).toBeNull();
    expect(await census()).toMatchObject({ counted: 1, failed: [] });
    const first = await usage();
    expect(first.latest).toMatchObject({ registeredUsers: 0, onlineUsers: 0, uploadBytes: 0 });
    expect(first.messagesToday).toBe(0);
  });

  it('counts two users online, the messages they sent and the file one shared', async () => {
    const before = await usage();
    for (const username of ['alice', 'bob']) {
      const made = await containers.exec(serverId, ['prosodyctl', 'register', username, domain, `${username}-password-1`]);
      expect(made.exitCode, made.stderr).toBe(0);
    }
    const [alice, bob] = [await login('alice'), await login('bob')];
    for (let n = 0; n < SENT_BY_ALICE; n++) {
      await sendMessage(alice, `bob@${domain}`, `hello ${n}`);
      await nextMessage(bob, 10_000);
    }
    for (let n = 0; n < SENT_BY_BOB; n++) {
      await sendMessage(bob, `alice@${domain}`, `hi ${n}`);
      await nextMessage(alice, 10_000);
    }
    await uploadRandomFile(alice, domain, '127.0.0.1', trust, 'photo.jpg', FILE_BYTES);
    await census();
    const after = await usage();
    expect(after.latest?.registeredUsers).toBe(2);
    expect(after.latest?.onlineUsers).toBe(2);
    // Each 1:1 message sits in both archives: it counts once, for its sender.
    expect(after.messagesToday).toBe(SENT_BY_ALICE + SENT_BY_BOB);
    expect((after.latest?.uploadBytes ?? 0) - (before.latest?.uploadBytes ?? 0)).toBe(FILE_BYTES);
    expect(after.latest?.archiveBytes).toBeGreaterThan(before.latest?.archiveBytes ?? 0);
    const [week] = after.ranges;
    expect(week?.messagesPerDay.at(-1)?.messages).toBe(SENT_BY_ALICE + SENT_BY_BOB);
    expect(week?.points.at(-1)).toMatchObject({ registeredUsers: 2, onlineUsers: 2 });
  });

  it('counts no message twice, and nobody online once both logged out', async () => {
    await Promise.all(sessions.splice(0).map((session) => session.close()));
    await census();
    const later = await usage();
    expect(later.latest).toMatchObject({ registeredUsers: 2, onlineUsers: 0 });
    expect(later.messagesToday).toBe(SENT_BY_ALICE + SENT_BY_BOB);
  });

  it('lets an order being built on the same node go first, then counts', async () => {
    const { accountId, planId, nodeId } = await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId }, select: { accountId: true, planId: true, nodeId: true } });
    const label = `o${Date.now().toString(36)}`;
    const order = await harness.prisma.server.create({
      data: { accountId, planId, nodeId, name: label, domain: `${label}.parley.test`, domainKind: 'platform', federation: false, state: 'starting' },
    });
    let orderDone = false;
    const finishing = (async () => {
      await sleep(1_000);
      await harness.prisma.server.update({ where: { id: order.id }, data: { state: 'failed', stateChangedAt: new Date() } });
      orderDone = true;
    })();
    const counted = await census();
    expect(orderDone).toBe(true);
    expect(counted).toMatchObject({ counted: 1, failed: [], redeemed: 0 });
    expect(counted.yieldedMs).toBeGreaterThan(0);
    await finishing;
    await harness.prisma.server.delete({ where: { id: order.id } });
    expect((await usage()).latest).toMatchObject({ registeredUsers: 2, onlineUsers: 0 });
  });
});
