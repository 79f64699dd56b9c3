import { Resolver } from 'node:dns/promises';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PowerDnsProvider } from '../../worker/src/adapters/powerdns.dns-provider.js';
import { DockerContainerRuntime } from '../../worker/src/adapters/docker.container-runtime.js';
import { XmppClientProbe } from '../../worker/src/adapters/xmpp-client.xmpp-probe.js';
import { PROVISION_STEPS } from '../../worker/src/contracts/provisioning.js';
import { prosodyCreateOrUpdateUser } from '../../worker/src/provisioning/prosody-accounts.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { pebbleCertificateStatus, pebbleIssuers } from '../support/pebble.js';
import { testEnv } from '../support/test-env.js';
import { connectAs, nextMessage, sendMessage, sendPresence, type XmppSession } from '../support/xmpp.js';
import { expectEvery } from '../support/expect-every.js';

// One order's life, in order: provisioned, used by clients, then deprovisioned.
describe('an order becomes a reachable, TLS-secured, standards-compliant XMPP server', { shuffle: false }, () => {
  let harness: ProvisioningHarness;
  let serverId: string;
  let domain: string;
  const env = testEnv();
  const docker = new Docker({ socketPath: env.DOCKER_SOCKET });
  const dns = new PowerDnsProvider({ apiUrl: env.PDNS_API_URL, apiKey: env.PDNS_API_KEY, serverId: 'localhost', zone: env.PLATFORM_ZONE });
  const resolver = new Resolver();
  resolver.setServers([env.DNS_RESOLVER]);
  const sessions: XmppSession[] = [];

  const recordsOf = async (name: string) =>
    (await dns.listRecords(env.PLATFORM_ZONE)).filter((r) => r.name === name || r.name.endsWith(`.${name}`));

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(30_000);
    ({ serverId, domain } = await harness.placeOrder({ federation: true }));
  });

  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await harness.close();
  });

  it('reaches ready, with every step on the timeline', async () => {
    await harness.provision(serverId);
    await harness.waitForState(serverId, 'ready', 120_000);
    const events = await harness.prisma.provisioningEvent.findMany({ where: { serverId }, orderBy: { id: 'asc' } });
    const succeeded = events.filter((e) => e.status === 'succeeded').map((e) => e.step);
    expect(succeeded).toEqual([...PROVISION_STEPS]);
    expect(events.at(-1)?.step).toBe('ready');
    // The container step says where its time went: the engine's start (in its parts), then Prosody's.
    const container = events.find((e) => e.step === 'container' && e.status === 'succeeded');
    const started = events.find((e) => e.step === 'container' && e.status === 'started');
    const parts = (container?.detail ?? {}) as Record<string, number>;
    expect(Object.keys(parts).sort()).toEqual(['answeringAttempts', 'answeringMs', 'createMs', 'engineMs', 'filesMs', 'prepareMs', 'specMs', 'startMs']);
    expect(Object.values(parts).every(Number.isInteger)).toBe(true);
    expect(parts.engineMs).toBeGreaterThan(0);
    expect(parts.startMs).toBeGreaterThan(0);
    // The parts are within the engine's time (each rounded on its own).
    const engineParts = ['specMs', 'prepareMs', 'createMs', 'filesMs', 'startMs'].reduce((sum, key) => sum + (parts[key] ?? 0), 0);
    expect(engineParts).toBeLessThanOrEqual((parts.engineMs ?? 0) + 3);
    expect(parts.answeringAttempts).toBeGreaterThanOrEqual(1);
    expect((parts.engineMs ?? 0) + (parts.answeringMs ?? 0)).toBeLessThanOrEqual((container?.createdAt.getTime() ?? 0) - (started?.createdAt.getTime() ?? 0) + 5);
    const admin = await harness.adminPassword(serverId);
    expect(JSON.stringify(events.map((e) => [e.message, e.detail]))).not.toContain(admin.password);
  }, 150_000);

  it('is found through SRV, verified against the CA root, and two accounts chat on it', async () => {
    const [srv] = await resolver.resolveSrv(`_xmpp-client._tcp.${domain}`).then((all) => all.filter((r) => r.name === domain));
    expect(srv).toBeDefined();
    const [directTls] = await resolver.resolveSrv(`_xmpps-client._tcp.${domain}`);
    expect(directTls?.name).toBe(domain);
    const [address] = await resolver.resolve4(srv?.name ?? '');
    expect(address).toBe('127.0.0.1');

    const { root } = await pebbleIssuers();
    const admin = await harness.adminPassword(serverId);
    const connection = { host: address ?? '', port: srv?.port ?? 0, domain, trustedCaPems: [root.toString()], timeoutMs: 15_000 };
    const alice = await connectAs({ ...connection, username: 'admin', password: admin.password });
    sessions.push(alice);
    expect(alice.jid.startsWith(`admin@${domain}/`)).toBe(true);

    // A second account, created the way the platform creates users: inside the container.
    const containers = new DockerContainerRuntime(docker);
    await prosodyCreateOrUpdateUser(containers, serverId, { username: 'bob', domain, password: 'a long test password for bob' });
    const bob = await connectAs({ ...connection, username: 'bob', password: 'a long test password for bob' });
    sessions.push(bob);

    await Promise.all([sendPresence(alice), sendPresence(bob)]);
    const received = nextMessage(bob, 10_000);
    await sendMessage(alice, `bob@${domain}`, 'hello from the first Parley server');
    expect(await received).toMatchObject({ body: 'hello from the first Parley server' });
    expect((await received).from.startsWith(`admin@${domain}`)).toBe(true);
    const reply = nextMessage(alice, 10_000);
    await sendMessage(bob, `admin@${domain}`, 'hello back');
    expect((await reply).body).toBe('hello back');
  });

  it('offers what XEP-0479 (IM and Mobile) asks for', async () => {
    const { root } = await pebbleIssuers();
    const admin = await harness.adminPassword(serverId);
    const ports = await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId, purpose: 'c2s' } });
    const result = await new XmppClientProbe().login({
      host: '127.0.0.1',
      port: ports.port,
      domain,
      username: 'admin',
      password: admin.password,
      trustedCaPems: [root.toString()],
      timeoutMs: 15_000,
    });
    for (const feature of ['urn:xmpp:carbons:2', 'urn:xmpp:mam:2', 'http://jabber.org/protocol/pubsub#publish', 'urn:xmpp:sm:3', 'urn:xmpp:csi:0', 'urn:xmpp:blocking']) {
      expect(result.features).toContain(feature);
    }
    expect(result.items).toEqual(expect.arrayContaining([`conference.${domain}`, `upload.${domain}`]));
  });

  it('deprovisioning leaves no Docker object, no ledger record in DNS, no secret', async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close()));
    await harness.deprovision(serverId);
    await harness.waitForState(serverId, 'deleted', 60_000);

    const labelled = { label: [`parley.server=${serverId}`] };
    expect(await docker.listContainers({ all: true, filters: labelled })).toHaveLength(0);
    expect((await docker.listVolumes({ filters: labelled })).Volumes ?? []).toHaveLength(0);

    const ledger = await harness.prisma.dnsRecord.findMany({ where: { serverId } });
    expect(ledger.length).toBeGreaterThan(0);
    expectEvery(ledger, (r) => r.deletedAt !== null);
    expect(await recordsOf(domain)).toEqual([]);

    expect(await harness.prisma.portAllocation.count({ where: { serverId } })).toBe(0);
    const certificates = await harness.prisma.certificate.findMany({ where: { serverId }, include: { privateKey: true } });
    expect(certificates.map((c) => c.status)).toEqual(['revoked']);
    // Revoked at the CA itself, not only marked so here.
    expect(await pebbleCertificateStatus(certificates[0]?.serial ?? '')).toBe('Revoked');
    expect(certificates[0]?.privateKey?.ciphertext.length).toBe(0);
    const credential = await harness.prisma.serverCredential.findFirstOrThrow({ where: { serverId }, include: { secret: true } });
    expect(credential.secret.destroyedAt).not.toBeNull();
    expect(credential.secret.ciphertext.length).toBe(0);

    const server = await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } });
    expect(server.deletedAt).not.toBeNull();
    expect(await harness.prisma.provisioningEvent.count({ where: { serverId } })).toBeGreaterThan(PROVISION_STEPS.length * 2);
  });
});
