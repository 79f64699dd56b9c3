import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECONCILE_JOB } from '../../worker/src/contracts/provisioning.js';
import { enqueueServerAction } from '../../worker/src/contracts/provisioning-flow.js';
import { LABEL_MANAGED, LABEL_NODE, LABEL_SERVER, containerName } from '../../worker/src/adapters/docker.container-runtime.js';
import { PowerDnsProvider } from '../../worker/src/adapters/powerdns.dns-provider.js';
import { prosodyCreateOrUpdateUser } from '../../worker/src/provisioning/prosody-accounts.js';
import { DockerContainerRuntime } from '../../worker/src/adapters/docker.container-runtime.js';
import { IncidentBook, MAX_REPAIR_ATTEMPTS } from '../../worker/src/healing/incident-book.js';
import { Timeline } from '../../worker/src/provisioning/timeline.js';
import { PROSODY_CONFIG_VERSION } from '../../worker/src/provisioning/prosody-config.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { pebbleIssuers } from '../support/pebble.js';
import { archivedBodies, connectAs, deliverMessage } from '../support/xmpp.js';

/**
 * Parley sees a server break behind its back and repairs it: through the engine's events for
 * containers, through a full pass for DNS and orphans; only what it owns is ever touched.
 */
describe('self-healing', () => {
  let harness: ProvisioningHarness;
  let serverId: string;
  let domain: string;
  let c2sPort: number;
  let root: string;
  const docker = new Docker();
  const bob = { username: 'bob', password: `pw-${randomUUID()}` };

  const login = (username: string, password: string) =>
    connectAs({ host: '127.0.0.1', port: c2sPort, domain, username, password, trustedCaPems: [root], timeoutMs: 10_000 });
  const health = async () => (await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } })).health;
  const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const pass = async () => {
    const { queue } = await harness.startWorker();
    const job = await queue.add(RECONCILE_JOB, {}, { jobId: `pass-${randomUUID()}` });
    await waitFor('the pass finishes', async () => (await job.isCompleted()) || (await job.isFailed()));
    expect(await job.isCompleted()).toBe(true);
  };
  const dns = () => {
    if (harness.config.dns.kind !== 'powerdns') throw new Error('these tests run against the sandbox PowerDNS');
    return harness.config.dns;
  };
  /** Out-of-band zone edit, as a person with the PowerDNS API key would make it. */
  const replaceRrset = async (name: string, type: string, contents: string[]) => {
    const { apiUrl, apiKey, serverId: pdnsServer } = dns();
    const response = await fetch(`${apiUrl}/api/v1/servers/${pdnsServer}/zones/${harness.config.platformZone}.`, {
      method: 'PATCH',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({
        rrsets: [{ name: `${name}.`, type, ttl: 300, changetype: contents.length ? 'REPLACE' : 'DELETE', records: contents.map((content) => ({ content, disabled: false })) }],
      }),
    });
    expect(response.status).toBe(204);
  };
  const provider = () => new PowerDnsProvider({ ...dns(), zone: harness.config.platformZone });
  const zoneValues = async (name: string, type: string) => (await provider().listRecords(harness.config.platformZone, name)).filter((r) => r.type === type).map((r) => r.value);

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(38_000);
    ({ serverId, domain } = await harness.placeOrder({ federation: true }));
    await harness.provision(serverId);
    await harness.waitForState(serverId, 'ready');
    c2sPort = (await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId, purpose: 'c2s' } })).port;
    root = (await pebbleIssuers()).root.toString();
    const containers = new DockerContainerRuntime(docker);
    await prosodyCreateOrUpdateUser(containers, serverId, { ...bob, domain });
    // A message that must survive every repair: bob's archive holds it.
    const admin = await harness.adminPassword(serverId);
    await deliverMessage(login, { username: 'admin', password: admin.password }, { username: 'bob', password: bob.password }, 'remember me');
  });

  afterAll(async () => {
    await harness.deprovision(serverId);
    await harness.waitForState(serverId, 'deleted', 60_000);
    await harness.close();
  });

  it('restarts a container that was killed, and says so on the timeline', async () => {
    await pass();
    expect(await health()).toBe('ok');
    const since = new Date();
    await docker.getContainer(containerName(serverId)).kill();
    await waitFor('the outage is shown', async () => (await health()) === 'down');
    const server = await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } });
    expect(server.healthIssue).toBe('container_stopped');
    expect(server.state).toBe('ready');
    await waitFor('repaired', async () => (await health()) === 'ok');
    const session = await login('bob', bob.password);
    await session.close();

    const events = await harness.prisma.provisioningEvent.findMany({ where: { serverId, step: 'incident', createdAt: { gte: since } }, orderBy: { id: 'asc' } });
    const phases = events.map((e) => (e.detail as { phase: string }).phase);
    expect(phases).toEqual(['detected', 'repairing', 'repaired']);
    // Parley's own words, which the API shows customers as they are (not a generic failure).
    expect(events[0]).toMatchObject({ status: 'failed', message: 'Detected: container_stopped', errorType: 'health_incident', willRetry: true });
    const repaired = events.at(-1)?.detail as { durationMs: number; kind: string };
    expect(repaired.kind).toBe('container_stopped');
    expect(repaired.durationMs).toBeGreaterThan(0);
    const incident = await harness.prisma.incident.findFirstOrThrow({ where: { serverId, kind: 'container_stopped' } });
    expect(incident.status).toBe('resolved');
  });

  it('recreates a removed container from its volumes: accounts and the message archive are intact', async () => {
    const before = (await docker.getContainer(containerName(serverId)).inspect()).Id;
    await docker.getContainer(containerName(serverId)).remove({ force: true });
    await waitFor('the outage is shown', async () => (await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } })).healthIssue === 'container_missing');
    await waitFor('repaired', async () => (await health()) === 'ok');
    const after = await docker.getContainer(containerName(serverId)).inspect();
    expect(after.Id).not.toBe(before);
    expect(after.State.Running).toBe(true);
    expect((await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } })).containerId).toBe(after.Id);

    const session = await login('bob', bob.password);
    try {
      expect(await archivedBodies(session)).toContain('remember me');
    } finally {
      await session.close();
    }
  });

  it('starts a container stopped behind Parley\'s back, but leaves one the customer stopped', async () => {
    await docker.getContainer(containerName(serverId)).stop({ t: 1 });
    await waitFor('repaired', async () => (await docker.getContainer(containerName(serverId)).inspect()).State.Running && (await health()) === 'ok');

    await harness.prisma.server.update({ where: { id: serverId }, data: { desiredState: 'stopped' } });
    try {
      await docker.getContainer(containerName(serverId)).stop({ t: 1 });
      await pass();
      await new Promise((r) => setTimeout(r, 1_000));
      expect((await docker.getContainer(containerName(serverId)).inspect()).State.Running).toBe(false);
      expect(await health()).toBe('ok');
    } finally {
      // As the API does for a customer's start: desired state first, then the action.
      await harness.prisma.server.update({ where: { id: serverId }, data: { desiredState: 'running' } });
      const requested = new Date();
      await enqueueServerAction((await harness.startWorker()).queue, serverId, 'start', randomUUID());
      await waitFor('started again', async () => (await harness.prisma.provisioningEvent.count({ where: { serverId, step: 'start', status: 'succeeded', createdAt: { gte: requested } } })) === 1);
    }
  });

  it('reinstalls a certificate deleted from the config volume, without a restart', async () => {
    const container = docker.getContainer(containerName(serverId));
    const startedAt = (await container.inspect()).State.StartedAt;
    const removal = await container.exec({ Cmd: ['rm', `/etc/parley/certs/${domain}.crt`], User: '0', AttachStdout: true, AttachStderr: true });
    await removal.start({});
    await waitFor('the file is gone', async () => (await removal.inspect()).ExitCode === 0);
    await pass();
    await waitFor('repaired', async () => (await health()) === 'ok' && (await harness.prisma.incident.count({ where: { serverId, kind: 'config_files_missing', resolvedAt: { not: null } } })) === 1);
    // A stat of the file: rejected with 404 while it is missing.
    await expect(container.infoArchive({ path: `/etc/parley/certs/${domain}.crt` })).resolves.toBeTruthy();
    expect((await container.inspect()).State.StartedAt).toBe(startedAt);
  });

  it('brings a server configured by an older worker to the current configuration, restarted when its listeners changed since', async () => {
    const container = docker.getContainer(containerName(serverId));
    const startedAt = (await container.inspect()).State.StartedAt;
    const configOf = async () => {
      const read = await container.exec({ Cmd: ['cat', '/etc/parley/prosody.cfg.lua'], User: '0', AttachStdout: true, AttachStderr: true });
      const stream = await read.start({});
      let text = '';
      stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      await new Promise((resolve) => stream.once('end', resolve));
      return text;
    };
    // As an older worker left it: its configuration loaded invites_adhoc, and the row says version 0.
    const edit = await container.exec({ Cmd: ['sed', '-i', 's/"invites_register"/"invites_adhoc"; "invites_register"/', '/etc/parley/prosody.cfg.lua'], User: '0' });
    await edit.start({});
    await waitFor('the old configuration is in place', async () => (await configOf()).includes('invites_adhoc'));
    await harness.prisma.server.update({ where: { id: serverId }, data: { configVersion: 0 } });

    await pass();
    await waitFor('updated', async () => (await harness.prisma.incident.count({ where: { serverId, kind: 'config_outdated', resolvedAt: { not: null } } })) === 1 && (await health()) === 'ok');
    expect((await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } })).configVersion).toBe(PROSODY_CONFIG_VERSION);
    expect(await configOf()).not.toContain('invites_adhoc');
    // Version 0 predates the metrics listener on the container's address (5): a reload would not bind it.
    expect((await container.inspect()).State.StartedAt).not.toBe(startedAt);
    const events = await harness.prisma.provisioningEvent.findMany({ where: { serverId, step: 'incident' }, orderBy: { id: 'desc' }, take: 5 });
    expect(events.map((e) => e.message).join('\n')).toContain('restarted the server (its listeners changed)');
  });

  it('puts back a deleted SRV record and a changed A record, and leaves values it does not own', async () => {
    const srvName = `_xmpp-client._tcp.${domain}`;
    const [srv] = await zoneValues(srvName, 'SRV');
    const [address] = await zoneValues(domain, 'A');
    expect(srv).toBeDefined();
    expect(address).toBeDefined();
    const foreignName = `foreign-${randomUUID().slice(0, 8)}.${harness.config.platformZone}`;
    await replaceRrset(foreignName, 'TXT', ['"not parley\'s"']);
    await replaceRrset(srvName, 'SRV', []);
    await replaceRrset(domain, 'A', ['127.0.0.99']);

    await pass();
    await waitFor('records back', async () => (await zoneValues(srvName, 'SRV')).includes(srv ?? '') && (await zoneValues(domain, 'A')).includes(address ?? ''));
    // The value somebody else wrote at the name is theirs: kept beside Parley's.
    expect(await zoneValues(domain, 'A')).toContain('127.0.0.99');
    expect(await zoneValues(foreignName, 'TXT')).toHaveLength(1);
    const incident = await harness.prisma.incident.findFirstOrThrow({ where: { serverId, kind: 'dns_record_missing' } });
    await waitFor('incident resolved', async () => (await harness.prisma.incident.findUniqueOrThrow({ where: { id: incident.id } })).status === 'resolved');
    await replaceRrset(foreignName, 'TXT', []);
    await replaceRrset(domain, 'A', [address ?? '']);
  });

  it('removes labelled containers of this node that no server owns, and nothing else', async () => {
    const image = (await docker.getContainer(containerName(serverId)).inspect()).Config.Image;
    const orphanId = randomUUID();
    const strangerId = randomUUID();
    const make = (id: string, node: string) =>
      docker.createContainer({ name: `parley-${id}`, Image: image, Cmd: ['true'], Labels: { [LABEL_MANAGED]: 'true', [LABEL_SERVER]: id, [LABEL_NODE]: node } });
    await make(orphanId, harness.config.node.name);
    const stranger = await make(strangerId, 'some-other-node');
    try {
      await pass();
      await expect(docker.getContainer(`parley-${orphanId}`).inspect()).rejects.toMatchObject({ statusCode: 404 });
      expect((await stranger.inspect()).Config.Labels[LABEL_SERVER]).toBe(strangerId);
      expect(await health()).toBe('ok');
    } finally {
      await stranger.remove({ force: true });
    }
  });

  it('after repairs gave up, the owner\'s start tries again and brings a removed container back', async () => {
    const book = new IncidentBook(harness.prisma, new Timeline(harness.prisma));
    let incident = await book.open(serverId, { kind: 'container_missing', detail: { expected: null } }, new Date());
    for (let i = 0; i < MAX_REPAIR_ATTEMPTS; i++) incident = await book.repairFailed(incident, 'recreated, then gone again', 'unknown', new Date());
    await docker.getContainer(containerName(serverId)).remove({ force: true });
    await waitFor('needs attention', async () => (await health()) === 'needs_attention');
    await new Promise((r) => setTimeout(r, 1_000));
    await expect(docker.getContainer(containerName(serverId)).inspect()).rejects.toMatchObject({ statusCode: 404 });

    await enqueueServerAction((await harness.startWorker()).queue, serverId, 'start', randomUUID());
    // Until the start recreates it, there is no container to inspect.
    const running = async () => (await docker.getContainer(containerName(serverId)).inspect().catch(() => undefined))?.State.Running === true;
    await waitFor('back and healthy', async () => (await running()) && (await health()) === 'ok');
    expect((await harness.prisma.incident.findUniqueOrThrow({ where: { id: incident.id } })).status).toBe('resolved');
    const session = await login('bob', bob.password);
    await session.close();
  });

  it('stops repairing a crash loop after a few attempts and says it needs attention', async () => {
    const book = new IncidentBook(harness.prisma, new Timeline(harness.prisma));
    const { serverId: other } = await harness.placeOrder();
    let incident = await book.open(other, { kind: 'container_stopped', detail: { state: 'exited' } }, new Date());
    for (let i = 0; i < MAX_REPAIR_ATTEMPTS; i++) {
      expect(book.dueForRepair(incident, new Date(Date.now() + 3_600_000))).toBe(true);
      incident = await book.repairFailed(incident, 'exited again at once', 'container_crashed', new Date());
    }
    expect(incident.status).toBe('needs_attention');
    expect(book.dueForRepair(incident, new Date(Date.now() + 3_600_000))).toBe(false);
    expect(await book.refreshHealth(other, new Date())).toBe('needs_attention');
    const last = await harness.prisma.provisioningEvent.findFirstOrThrow({ where: { serverId: other, step: 'incident' }, orderBy: { id: 'desc' } });
    expect(last.detail).toMatchObject({ phase: 'needs_attention', repairAttempts: MAX_REPAIR_ATTEMPTS });
  });
});
