import Docker from 'dockerode';
import { FlowProducer, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVISION_STEPS, PROVISIONING_QUEUE, type ProvisionStep } from '../../worker/src/contracts/provisioning.js';
import { enqueueDeprovisioning, enqueueProvisioning } from '../../worker/src/contracts/provisioning-flow.js';
import { certificateNames, planServerRecords } from '../../worker/src/provisioning/dns-plan.js';
import { PowerDnsProvider } from '../../worker/src/adapters/powerdns.dns-provider.js';
import { pebbleCertificateStatus } from '../support/pebble.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { PlatformProcess } from '../support/platform-process.js';
import { testEnv } from '../support/test-env.js';
import { expectEvery } from '../support/expect-every.js';

/**
 * For every step: a worker process stops dead right after the step's side effects (before the
 * step is recorded as done), is SIGKILLed, and a new worker finishes the order. The order must
 * complete exactly once: one container, one set of DNS records, one certificate, no orphans.
 */
describe('provisioning survives a worker killed in the middle of any step', () => {
  let harness: ProvisioningHarness;
  let connection: Redis;
  let flows: FlowProducer;
  let queue: Queue;
  const docker = new Docker({ socketPath: testEnv().DOCKER_SOCKET });
  const dns = () =>
    new PowerDnsProvider({ apiUrl: testEnv().PDNS_API_URL, apiKey: testEnv().PDNS_API_KEY, serverId: 'localhost', zone: testEnv().PLATFORM_ZONE });
  const servers: string[] = [];

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(31_000);
    connection = new Redis(harness.redis.url, { maxRetriesPerRequest: null });
    flows = new FlowProducer({ connection });
    queue = new Queue(PROVISIONING_QUEUE, { connection });
  });

  afterAll(async () => {
    // Leave nothing behind even when an assertion failed half-way.
    const cleaner = PlatformProcess.worker(harness.workerEnv());
    for (const serverId of servers) {
      await harness.prisma.server.update({ where: { id: serverId }, data: { desiredState: 'deleted' } });
      await enqueueDeprovisioning(queue, serverId);
    }
    await Promise.all(servers.map((serverId) => harness.waitForState(serverId, 'deleted', 60_000)));
    await cleaner.stop();
    await Promise.all([flows.close(), queue.close()]);
    connection.disconnect();
    await harness.close();
  });

  async function crashAt(point: string, enqueue: () => Promise<void>): Promise<void> {
    const doomed = PlatformProcess.worker({ ...harness.workerEnv(), PARLEY_FAILPOINTS: point });
    await enqueue();
    await doomed.waitForLine(new RegExp(`FAILPOINT ${point.replace('.', '\\.')}`), 60_000);
    await doomed.kill();
  }

  async function expectExactlyOnce(serverId: string, domain: string, step: ProvisionStep) {
    const labelled = { label: [`parley.server=${serverId}`] };
    const containers = await docker.listContainers({ all: true, filters: labelled });
    const volumes = (await docker.listVolumes({ filters: labelled })).Volumes ?? [];
    expect(containers).toHaveLength(1);
    expect(volumes).toHaveLength(2);

    const ports = await harness.prisma.portAllocation.findMany({ where: { serverId } });
    expect(ports).toHaveLength(4);
    const byPurpose = Object.fromEntries(ports.map((p) => [p.purpose, p.port]));
    const planned = planServerRecords({
      domain,
      nodeAddress: '127.0.0.1',
      ports: { c2s: byPurpose.c2s ?? 0, c2sDirectTls: byPurpose.c2s_direct_tls ?? 0, s2s: byPurpose.s2s ?? 0, https: byPurpose.https ?? 0 },
      federation: true,
    });
    const ledger = await harness.prisma.dnsRecord.findMany({ where: { serverId, deletedAt: null } });
    expect(ledger.map((r) => `${r.name} ${r.type} ${r.value}`).sort()).toEqual(planned.map((r) => `${r.name} ${r.type} ${r.value}`).sort());
    expectEvery(ledger, (r) => r.appliedAt !== null);
    const inZone = (await dns().listRecords(testEnv().PLATFORM_ZONE)).filter((r) => r.name === domain || r.name.endsWith(`.${domain}`));
    expect(inZone.map((r) => `${r.name} ${r.type} ${r.value}`).sort()).toEqual(planned.map((r) => `${r.name} ${r.type} ${r.value}`).sort());

    const certificates = await harness.prisma.certificate.findMany({ where: { serverId } });
    const active = certificates.filter((c) => c.status === 'active');
    expect(active).toHaveLength(1);
    expect(active[0]?.names.sort()).toEqual(certificateNames(domain).sort());
    expect(await harness.prisma.serverCredential.count({ where: { serverId } })).toBe(1);

    const events = await harness.prisma.provisioningEvent.findMany({ where: { serverId }, orderBy: { id: 'asc' } });
    const started = events.filter((e) => e.step === step && e.status === 'started');
    expect(started.length).toBeGreaterThanOrEqual(2);
    expect(events.filter((e) => e.step === step && e.status === 'succeeded')).toHaveLength(1);
    expect(events.filter((e) => e.step === 'ready')).toHaveLength(1);
  }

  it.each(PROVISION_STEPS.map((step) => [step]))('killed during "%s", the order completes exactly once', async (step) => {
    const { serverId, domain } = await harness.placeOrder();
    servers.push(serverId);
    await crashAt(`${step}.after-effects`, () => enqueueProvisioning(flows, serverId));

    const survivor = PlatformProcess.worker(harness.workerEnv());
    try {
      await harness.waitForState(serverId, 'ready', 90_000);
      await expectExactlyOnce(serverId, domain, step);
    } finally {
      await survivor.stop();
    }
  });

  // Three worker processes one after another (provision, crash, finish), each started cold: it
  // took 55-58 s of the default 60 s in every clean-clone run, and once went past it.
  it('killed during deprovisioning, the removal completes and leaves nothing', async () => {
    const { serverId, domain } = await harness.placeOrder();
    servers.push(serverId);
    const first = PlatformProcess.worker(harness.workerEnv());
    await enqueueProvisioning(flows, serverId);
    await harness.waitForState(serverId, 'ready', 90_000);
    await first.stop();

    await harness.prisma.server.update({ where: { id: serverId }, data: { desiredState: 'deleted' } });
    await crashAt('deprovision.after-effects', () => enqueueDeprovisioning(queue, serverId));
    const survivor = PlatformProcess.worker(harness.workerEnv());
    try {
      await harness.waitForState(serverId, 'deleted', 60_000);
    } finally {
      await survivor.stop();
    }
    const labelled = { label: [`parley.server=${serverId}`] };
    expect(await docker.listContainers({ all: true, filters: labelled })).toHaveLength(0);
    expect((await docker.listVolumes({ filters: labelled })).Volumes ?? []).toHaveLength(0);
    const inZone = (await dns().listRecords(testEnv().PLATFORM_ZONE)).filter((r) => r.name === domain || r.name.endsWith(`.${domain}`));
    expect(inZone).toEqual([]);
    expect(await harness.prisma.dnsRecord.count({ where: { serverId, deletedAt: null } })).toBe(0);
    expect(await harness.prisma.portAllocation.count({ where: { serverId } })).toBe(0);
    const certificates = await harness.prisma.certificate.findMany({ where: { serverId } });
    expectEvery(certificates, (c) => c.status === 'revoked');
    for (const certificate of certificates) expect(await pebbleCertificateStatus(certificate.serial ?? '')).toBe('Revoked');
    const events = await harness.prisma.provisioningEvent.findMany({ where: { serverId, step: 'deprovision' } });
    expect(events.filter((e) => e.status === 'succeeded')).toHaveLength(1);
  }, 150_000);
});
