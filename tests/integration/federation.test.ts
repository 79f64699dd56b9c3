import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerContainerRuntime } from '../../worker/src/adapters/docker.container-runtime.js';
import { prosodyCreateOrUpdateUser } from '../../worker/src/provisioning/prosody-accounts.js';
import { takeAccountCensus } from '../../worker/src/xmpp-users/account-census.js';
import { IndependentXmppServer } from '../support/independent-xmpp.js';
import { pebbleIssuers } from '../support/pebble.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { testEnv } from '../support/test-env.js';
import { connectAs, joinRoom, nextMessage, nextMessageError, sendGroupMessage, sendMessage, sendPresence, type XmppSession } from '../support/xmpp.js';

// Servers on one node federate through the node's public address, as anyone on the internet
// would reach them: here the sandbox's edge address, which containers reach too, with the
// platform zone resolved by the sandbox's PowerDNS from inside the containers.

const PORTS = 23_000;
const PASSWORD = 'federation: a password of its own';

describe('federation: Parley servers talk to each other and to XMPP servers that are not Parley\'s', () => {
  const env = testEnv();
  const edge = env.SANDBOX_EDGE_ADDRESS;
  const runtime = new DockerContainerRuntime(new Docker({ socketPath: env.DOCKER_SOCKET }));
  let harness: ProvisioningHarness;
  let root: string;
  let independent: IndependentXmppServer | undefined;
  let untrusted: IndependentXmppServer | undefined;
  const servers: Record<'a' | 'b' | 'closed', { serverId: string; domain: string }> = {} as never;
  const sessions: XmppSession[] = [];

  const c2sPort = async (serverId: string) => (await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId, purpose: 'c2s' } })).port;
  /** A user of one of the servers, logged in and available (so messages to the bare JID reach it). */
  const online = async (which: keyof typeof servers, username: string) => {
    const { serverId, domain } = servers[which];
    const session = await connectAs({ host: edge, port: await c2sPort(serverId), domain, username, password: PASSWORD, trustedCaPems: [root], timeoutMs: 10_000, resource: `r${randomUUID().slice(0, 8)}` });
    sessions.push(session);
    await sendPresence(session);
    return session;
  };
  const bare = (session: XmppSession) => session.jid.split('/')[0] ?? session.jid;

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(PORTS, { configure: (config) => ({ ...config, docker: { ...config.docker, publicAddress: edge } }) });
    root = (await pebbleIssuers()).root.toString();
    const orders = { a: await harness.placeOrder({ federation: true }), b: await harness.placeOrder({ federation: true }), closed: await harness.placeOrder({ federation: false }) };
    Object.assign(servers, orders);
    for (const { serverId } of Object.values(orders)) await harness.provision(serverId);
    for (const { serverId } of Object.values(orders)) await harness.waitForState(serverId, 'ready', 150_000);
    const users = { a: 'alice', b: 'bob', closed: 'carol' } as const;
    for (const [which, username] of Object.entries(users) as [keyof typeof servers, string][]) {
      await prosodyCreateOrUpdateUser(runtime, servers[which].serverId, { username, domain: servers[which].domain, password: PASSWORD });
    }
  }, 240_000);

  afterAll(async () => {
    for (const session of sessions) await session.close();
    await independent?.stop();
    await untrusted?.stop();
    for (const { serverId } of Object.values(servers)) await harness.deprovision(serverId);
    for (const { serverId } of Object.values(servers)) await harness.waitForState(serverId, 'deleted', 60_000);
    await harness?.close();
  }, 120_000);

  it('two servers with federation on exchange messages both ways', async () => {
    const alice = await online('a', 'alice');
    const bob = await online('b', 'bob');
    const toBob = nextMessage(bob, 30_000);
    await sendMessage(alice, bare(bob), 'hello from the other server');
    const received = await toBob;
    expect(received.body).toBe('hello from the other server');
    expect(received.from.startsWith(`alice@${servers.a.domain}/`)).toBe(true);
    const toAlice = nextMessage(alice, 30_000);
    await sendMessage(bob, bare(alice), 'and hello back');
    expect(await toAlice).toMatchObject({ body: 'and hello back' });
    expect((await toAlice).from.startsWith(`bob@${servers.b.domain}/`)).toBe(true);

    // What the dashboard shows as federation status is what the census saw in Prosody, not the setting.
    const now = new Date();
    await takeAccountCensus({ prisma: harness.prisma, containers: runtime, settings: harness.config.jobs }, now);
    for (const which of ['a', 'b'] as const) {
      expect(await harness.prisma.server.findUniqueOrThrow({ where: { id: servers[which].serverId }, select: { s2sOutgoingSeenAt: true, s2sIncomingSeenAt: true } })).toEqual({ s2sOutgoingSeenAt: now, s2sIncomingSeenAt: now });
    }
    expect(await harness.prisma.server.findUniqueOrThrow({ where: { id: servers.closed.serverId }, select: { s2sOutgoingSeenAt: true, s2sIncomingSeenAt: true } })).toEqual({ s2sOutgoingSeenAt: null, s2sIncomingSeenAt: null });
  }, 90_000);

  it('a user joins a group chat on the other server and the room hears them', async () => {
    const alice = await online('a', 'alice');
    const bob = await online('b', 'bob');
    const room = `federated@conference.${servers.a.domain}`;
    await joinRoom(alice, room, 'alice');
    await joinRoom(bob, room, 'bob', 30_000);
    const heard = nextMessage(alice, 30_000);
    await sendGroupMessage(bob, room, 'bob speaks from afar');
    expect(await heard).toEqual({ from: `${room}/bob`, body: 'bob speaks from afar' });
  }, 90_000);

  it('a server with federation off refuses both directions with a clear error', async () => {
    const alice = await online('a', 'alice');
    const carol = await online('closed', 'carol');
    // Out of the closed server: its own server answers at once.
    const outError = nextMessageError(carol, 30_000);
    await sendMessage(carol, bare(alice), 'can anyone hear me?');
    expect(await outError).toMatchObject({ from: bare(alice), condition: 'not-allowed', text: 'Communication with remote domains is not enabled' });
    // Into it: its DNS says it has no server-to-server service, so the sender's server bounces it.
    const inError = nextMessageError(alice, 30_000);
    await sendMessage(alice, bare(carol), 'knock knock');
    const bounced = await inError;
    expect(bounced.from).toBe(bare(carol));
    expect(bounced.condition).toBe('remote-server-not-found');
  }, 90_000);

  it('federates with an independent Prosody on a domain of its own, certificates verified on both sides', async () => {
    independent = await IndependentXmppServer.start({ ports: [PORTS + 450, PORTS + 451], image: env.PROSODY_IMAGE, address: edge });
    await independent.register('dave', PASSWORD);
    const dave = await connectAs({ host: edge, port: independent.c2sPort, domain: independent.domain, username: 'dave', password: PASSWORD, trustedCaPems: [root], timeoutMs: 10_000 });
    sessions.push(dave);
    await sendPresence(dave);
    const alice = await online('a', 'alice');
    const toDave = nextMessage(dave, 30_000);
    await sendMessage(alice, bare(dave), 'hello, independent server');
    expect(await toDave).toMatchObject({ body: 'hello, independent server' });
    const toAlice = nextMessage(alice, 30_000);
    await sendMessage(dave, bare(alice), 'hello, Parley');
    expect((await toAlice).from.startsWith(`dave@${independent.domain}/`)).toBe(true);
  }, 120_000);

  it('refuses a server whose certificate no trusted CA signed', async () => {
    untrusted = await IndependentXmppServer.start({ ports: [PORTS + 452, PORTS + 453], image: env.PROSODY_IMAGE, address: edge, certificate: 'self-signed' });
    const alice = await online('a', 'alice');
    const bounced = nextMessageError(alice, 30_000);
    await sendMessage(alice, `eve@${untrusted.domain}`, 'are you who you say you are?');
    const error = await bounced;
    expect(error).toMatchObject({ from: `eve@${untrusted.domain}` });
    expect([error.condition, error.text]).toEqual(['remote-server-timeout', expect.stringMatching(/certificate/i)]);
  }, 90_000);
});
