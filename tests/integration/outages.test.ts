import { execFileSync } from 'node:child_process';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_SERVER } from '../../worker/src/adapters/docker.container-runtime.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { startPlatformApi, type ListeningApi } from '../support/platform-api.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { testEnv } from '../support/test-env.js';
import { expectEvery } from '../support/expect-every.js';

const MID_PROVISIONING = ['allocating', 'dns', 'certificate', 'configuring', 'starting', 'bootstrapping', 'probing'];

/** The cluster on 5432 that infra/bootstrap/services.sh started (version and name vary by machine). */
function postgresCluster(): [string, string] {
  const line = execFileSync('pg_lsclusters', ['--no-header'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((fields) => fields[2] === '5432');
  if (!line?.[0] || !line[1]) throw new Error('no PostgreSQL cluster on port 5432');
  return [line[0], line[1]];
}

/**
 * Parley's dependencies go away in the middle of orders and come back: every order still
 * completes, exactly once, and meanwhile the API says what is down and recovers by itself.
 */
describe('outages during provisioning', () => {
  let harness: ProvisioningHarness;
  let api: ListeningApi;
  let dnsProxy: TcpProxy;
  let caProxy: TcpProxy;
  const docker = new Docker();
  const created: string[] = [];

  const ready = async () => {
    try {
      const response = await fetch(`${api.url}/health/ready`);
      return { status: response.status, down: ((await response.json()) as { down: string[] }).down };
    } catch {
      return { status: 0, down: [] as string[] };
    }
  };
  const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // A dependency that is down makes the check itself fail: that is "not yet".
      if (await check().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const order = async (count: number) => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const { serverId } = await harness.placeOrder();
      await harness.provision(serverId);
      ids.push(serverId);
      created.push(serverId);
    }
    return ids;
  };
  const states = async (ids: string[]) => (await harness.prisma.server.findMany({ where: { id: { in: ids } }, select: { state: true } })).map((s) => s.state);
  const allReady = (ids: string[], timeoutMs: number) => waitFor('every order ready', async () => (await states(ids)).every((s) => s === 'ready'), timeoutMs);

  /** One of everything an order makes: no order lost (it is ready) and none done twice. */
  const expectProvisionedOnce = async (serverId: string) => {
    const containers = await docker.listContainers({ all: true, filters: { label: [`${LABEL_SERVER}=${serverId}`] } });
    expect(containers.map((c) => c.State)).toEqual(['running']);
    const { Volumes } = await docker.listVolumes({ filters: { label: [`${LABEL_SERVER}=${serverId}`] } });
    expect(Volumes).toHaveLength(2);
    expect(await harness.prisma.certificate.count({ where: { serverId, status: 'active' } })).toBe(1);
    expect(await harness.prisma.certificate.count({ where: { serverId, status: 'pending' } })).toBe(0);
    expect(await harness.prisma.serverCredential.count({ where: { serverId } })).toBe(1);
    expect(await harness.prisma.portAllocation.count({ where: { serverId } })).toBe(4);
    const records = await harness.prisma.dnsRecord.findMany({ where: { serverId, deletedAt: null, purpose: { not: 'acme_challenge' } } });
    expect(records.length).toBeGreaterThan(0);
    expectEvery(records, (r) => r.appliedAt !== null);
    expect(await harness.prisma.provisioningEvent.count({ where: { serverId, step: 'ready' } })).toBe(1);
  };

  beforeAll(async () => {
    const pdns = new URL(testEnv().PDNS_API_URL);
    dnsProxy = await TcpProxy.start({ host: pdns.hostname, port: Number(pdns.port) });
    const acme = new URL(testEnv().ACME_DIRECTORY_URL);
    caProxy = await TcpProxy.start({ host: acme.hostname, port: Number(acme.port) });
    harness = await ProvisioningHarness.create(45_000, {
      persistentRedis: true,
      configure: (config) => ({
        ...config,
        // A report a second, so the API sees the worker's view of DNS and the CA quickly.
        healthReportIntervalMs: 1_000,
        dns: config.dns.kind === 'powerdns' ? { ...config.dns, apiUrl: `http://127.0.0.1:${dnsProxy.port}` } : config.dns,
        // Pebble builds its URLs from the Host it is asked on: every ACME call goes through the relay.
        acme: { ...config.acme, directoryUrl: `https://127.0.0.1:${caProxy.port}${acme.pathname}` },
      }),
    });
    await harness.startWorker();
    api = await startPlatformApi(harness);
    await waitFor('the platform is ready', async () => (await ready()).status === 200, 30_000);
  });

  afterAll(async () => {
    await dnsProxy.up();
    await caProxy.up();
    for (const serverId of created) await harness.deprovision(serverId);
    for (const serverId of created) await harness.waitForState(serverId, 'deleted', 60_000);
    await api.close();
    await harness.close();
    await dnsProxy.down();
    await caProxy.down();
  });

  it('Redis restarted in the middle of orders: each completes once, the API names Redis meanwhile', async () => {
    const ids = await order(3);
    await waitFor('provisioning under way', async () => (await states(ids)).some((s) => MID_PROVISIONING.includes(s)), 30_000);
    await harness.redis.shutdown();
    await waitFor('the API names Redis', async () => (await ready()).down.includes('redis'), 10_000);
    await new Promise((r) => setTimeout(r, 2_000));
    await harness.redis.resume();
    await allReady(ids, 120_000);
    for (const id of ids) await expectProvisionedOnce(id);
    await waitFor('the API recovers', async () => (await ready()).status === 200, 30_000);
  });

  it('PostgreSQL restarted in the middle of orders: each completes once, the API names the database meanwhile', async () => {
    const [version, name] = postgresCluster();
    const ids = await order(3);
    await waitFor('provisioning under way', async () => (await states(ids)).some((s) => MID_PROVISIONING.includes(s)), 30_000);
    try {
      execFileSync('pg_ctlcluster', [version, name, 'stop', '-m', 'fast'], { stdio: 'ignore' });
      await waitFor('the API names the database', async () => (await ready()).down.includes('database'), 10_000);
      await new Promise((r) => setTimeout(r, 2_000));
    } finally {
      execFileSync('pg_ctlcluster', [version, name, 'start'], { stdio: 'ignore' });
    }
    await allReady(ids, 120_000);
    for (const id of ids) await expectProvisionedOnce(id);
    await waitFor('the API recovers', async () => (await ready()).status === 200, 30_000);
  });

  it('DNS provider and CA unreachable for a minute: orders wait, then complete once; the API names both meanwhile', async () => {
    await dnsProxy.down();
    await caProxy.down();
    const ids = await order(2);
    await waitFor('the API names DNS and the CA', async () => {
      const { down } = await ready();
      return down.includes('dns') && down.includes('ca');
    }, 15_000);
    // DNS back after 30 s, the CA after a minute: orders then wait in the certificate step.
    await new Promise((r) => setTimeout(r, 30_000));
    expectEvery(await states(ids), (s) => s === 'dns');
    await dnsProxy.up();
    await waitFor('orders reach the certificate step', async () => (await states(ids)).every((s) => s === 'certificate'), 60_000);
    await new Promise((r) => setTimeout(r, 30_000));
    expectEvery(await states(ids), (s) => s === 'certificate');
    await caProxy.up();
    await allReady(ids, 120_000);
    for (const id of ids) {
      await expectProvisionedOnce(id);
      const failures = await harness.prisma.provisioningEvent.findMany({ where: { serverId: id, status: 'failed', step: { in: ['dns', 'certificate'] } } });
      expect(failures.length).toBeGreaterThan(0);
      expectEvery(failures, (f) => f.willRetry === true);
    }
    await waitFor('the API recovers', async () => (await ready()).status === 200, 30_000);
  }, 300_000);
});
