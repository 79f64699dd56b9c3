import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../worker/src/adapters/docker.container-runtime.js';
import { IncidentBook, MAX_REPAIR_ATTEMPTS } from '../../worker/src/healing/incident-book.js';
import { PROSODY_METRICS } from '../../worker/src/provisioning/prosody-config.js';
import { Timeline } from '../../worker/src/provisioning/timeline.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { testEnv } from '../support/test-env.js';
import { until } from '../support/until.js';
import { PlatformProcess } from '../support/platform-process.js';
import { pebbleIssuers } from '../support/pebble.js';
import { connectAs } from '../support/xmpp.js';
import { expectEvery } from '../support/expect-every.js';

const run = promisify(execFile);
const PORTS = 46_000;
/** The test's Prometheus: in the reserved block (never an ephemeral port), past the harness's 400. */
const PROMETHEUS_PORT = 46_450;
const RULES = new URL('../../infra/prometheus/alerts.yml', import.meta.url);

interface PromVector {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * The worker's metrics and every hosted server's, scraped for real by a Prometheus this test
 * starts (its own port and storage, the shipped alert rules), as the sandbox one scrapes the
 * worker that ./parley up runs.
 */
describe('metrics: the worker and each hosted server, scraped by a real Prometheus', () => {
  let harness: ProvisioningHarness;
  let prometheus: ChildProcess | undefined;
  let promUrl: string;
  let dir: string;
  let metricsAddress: string;
  let root: string;
  const servers: { serverId: string; domain: string }[] = [];
  const docker = new Docker({ socketPath: testEnv().DOCKER_SOCKET });

  const query = async (expr: string): Promise<PromVector[]> => {
    const answer = (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as { status: string; data: { result: PromVector[] } };
    if (answer.status !== 'success') throw new Error(`Prometheus refused ${expr}`);
    return answer.data.result;
  };
  const scrape = async (path: string) => fetch(`http://${metricsAddress}${path}`);
  const loginAdmin = async (server: { serverId: string; domain: string }) => {
    const { password } = await harness.adminPassword(server.serverId);
    const port = (await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId: server.serverId, purpose: 'c2s' } })).port;
    return connectAs({ host: '127.0.0.1', port, domain: server.domain, username: 'admin', password, trustedCaPems: [root], timeoutMs: 10_000 });
  };

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(PORTS, { metrics: true });
    metricsAddress = (await harness.startWorker()).metricsAddress ?? '';
    root = (await pebbleIssuers()).root.toString();
    // Three: the alert test takes the third down (and brings it back), the others read the first two.
    for (let i = 0; i < 3; i++) servers.push(await harness.placeOrder({ federation: false }));
    for (const { serverId } of servers) await harness.provision(serverId);
    await Promise.all(servers.map(({ serverId }) => harness.waitForState(serverId, 'ready', 180_000)));

    dir = await mkdtemp(join(tmpdir(), 'parley-prometheus-'));
    // The shipped rules, with ParleyServerDown's five minutes cut to seconds: the expression is the one operators get.
    const rules = (await readFile(RULES, 'utf8')).replace(/(alert: ParleyServerDown\n\s+expr: .*\n\s+for: )5m/, '$12s');
    if (!rules.includes('for: 2s')) throw new Error('ParleyServerDown not found in alerts.yml');
    await writeFile(join(dir, 'alerts.yml'), rules);
    await writeFile(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: ["${join(dir, 'alerts.yml')}"]`,
        'scrape_configs:',
        `  - { job_name: parley-worker, static_configs: [{ targets: ["${metricsAddress}"] }] }`,
        `  - { job_name: parley-server, http_sd_configs: [{ url: "http://${metricsAddress}/targets/servers", refresh_interval: 1s }] }`,
        '',
      ].join('\n'),
    );
    promUrl = `http://127.0.0.1:${PROMETHEUS_PORT}`;
    prometheus = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--web.listen-address=127.0.0.1:${PROMETHEUS_PORT}`, `--storage.tsdb.path=${join(dir, 'data')}`], { stdio: 'ignore' });
    await until('Prometheus ready', async () => ((await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok ? true : null), 30_000, 250);
  }, 300_000);

  afterAll(async () => {
    prometheus?.kill();
    for (const { serverId } of servers) await harness.deprovision(serverId);
    for (const { serverId } of servers) await harness.waitForState(serverId, 'deleted', 60_000);
    await harness?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('lists every server that should be running as a scrape target, labelled with its id and domain', async () => {
    const groups = (await (await scrape('/targets/servers')).json()) as { targets: string[]; labels: Record<string, string> }[];
    expect(groups.map((g) => g.labels).sort((a, b) => (a.server_id ?? '').localeCompare(b.server_id ?? ''))).toEqual(
      [...servers].sort((a, b) => a.serverId.localeCompare(b.serverId)).map((s) => ({ __metrics_path__: `/servers/${s.serverId}/metrics`, server_id: s.serverId, domain: s.domain })),
    );
    for (const group of groups) expect(group.targets).toEqual([metricsAddress]);
  });

  it('serves each server’s Prosody metrics through the worker: a client logged in is a c2s connection; none of a server that is not there', async () => {
    const [server] = servers;
    if (!server) throw new Error('no server');
    const connections = `prosody_mod_c2s__connections{host="${server.domain}",type="c2s",ip_family="ipv4"}`;
    const before = await (await scrape(`/servers/${server.serverId}/metrics`)).text();
    expect(before).not.toContain(connections);
    const session = await loginAdmin(server);
    try {
      const answer = await scrape(`/servers/${server.serverId}/metrics`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toContain('openmetrics');
      expect(await answer.text()).toContain(`${connections} 1`);
    } finally {
      await session.close();
    }
    expect((await scrape('/servers/01234567-89ab-7def-8123-456789abcdef/metrics')).status).toBe(503);
    expect((await scrape('/servers/not-an-id/metrics')).status).toBe(404);
  });

  it('does not publish Prosody’s metrics port: the container has no host port for it', async () => {
    const [server] = servers;
    if (!server) throw new Error('no server');
    const info = await docker.getContainer(containerName(server.serverId)).inspect();
    const published = Object.entries(info.NetworkSettings.Ports ?? {}).filter(([, bindings]) => (bindings ?? []).length > 0).map(([port]) => port);
    expect(published.length).toBeGreaterThan(0);
    expect(published).not.toContain(`${PROSODY_METRICS.port}/tcp`);
  });

  it('keeps a server’s metrics from other tenants: its neighbour’s container cannot connect, the node can', async () => {
    const [target, neighbour] = servers;
    if (!target || !neighbour) throw new Error('no servers');
    const address = Object.values((await docker.getContainer(containerName(target.serverId)).inspect()).NetworkSettings.Networks)[0]?.IPAddress;
    if (!address) throw new Error('the server has no address');
    expect((await fetch(`http://${address}:${PROSODY_METRICS.port}${PROSODY_METRICS.path}`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
    const probe = `local c = require("socket").tcp(); c:settimeout(3); local ok, err = c:connect("${address}", ${PROSODY_METRICS.port}); print(ok and "open" or ("closed: " .. tostring(err)))`;
    const { stdout } = await run('docker', ['exec', containerName(neighbour.serverId), 'lua5.4', '-e', probe], { timeout: 15_000 });
    expect(stdout.trim()).toMatch(/^closed: /);
  });

  it('counts the work done: jobs by outcome, step durations, certificate expiry per server', async () => {
    const text = await (await scrape('/metrics')).text();
    expect(text).toMatch(new RegExp(`^parley_worker_jobs_total\\{queue="provisioning",job="certificate",outcome="completed"\\} ${servers.length}`, 'm'));
    expect(text).toMatch(new RegExp(`^parley_worker_step_duration_seconds_count\\{step="certificate",outcome="succeeded"\\} ${servers.length}$`, 'm'));
    for (const { serverId, domain } of servers) {
      const certificate = await harness.prisma.certificate.findFirstOrThrow({ where: { serverId, status: 'active' } });
      expect(text).toContain(`parley_certificate_expiry_timestamp_seconds{server_id="${serverId}",domain="${domain}"} ${(certificate.notAfter?.getTime() ?? 0) / 1000}`);
    }
    expect(text).toMatch(/^parley_acme_order_budget \d+/m);
    expect(text).toMatch(/^parley_node_disk_used_ratio\{node="test-46000"\} 0\.\d+/m);
  });

  it('refuses to start a second worker on an address already serving metrics, naming the setting', async () => {
    const worker = PlatformProcess.worker({ ...harness.workerEnv(), WORKER_METRICS_ADDRESS: metricsAddress });
    try {
      expect(await worker.waitForLine(/WORKER_METRICS_ADDRESS: 127\.0\.0\.1:\d+ is in use/, 60_000)).toBeTruthy();
      expect(await worker.exitCode(30_000)).toBe(78);
    } finally {
      await worker.kill();
    }
    expect((await scrape('/metrics')).status).toBe(200);
  }, 90_000);

  it('is scraped by Prometheus: the worker and every hosted server are up', async () => {
    const up = await until(
      'every target up',
      async () => {
        const result = await query('up');
        return result.length === servers.length + 1 && result.every((r) => r.value[1] === '1') ? result : null;
      },
      60_000,
      500,
    );
    expect(up.filter((r) => r.metric.job === 'parley-server').map((r) => r.metric.server_id).sort()).toEqual(servers.map((s) => s.serverId).sort());
    // Prosody's own series, labelled with the server they came from.
    const [server] = servers;
    if (!server) throw new Error('no server');
    const session = await loginAdmin(server);
    try {
      const seen = await until('the connection in Prometheus', async () => {
        const result = await query(`prosody_mod_c2s__connections{server_id="${server.serverId}",type="c2s"}`);
        return result.some((r) => r.value[1] === '1') ? result : null;
      }, 30_000, 500);
      expectEvery(seen, (r) => r.metric.domain === server.domain && r.metric.host === server.domain);
    } finally {
      await session.close();
    }
  }, 90_000);

  it('fires ParleyServerDown for a server whose Prosody is down and whose repairs gave up, and for no other', async () => {
    const [other, , down] = servers;
    if (!down || !other) throw new Error('no servers');
    // Repairs exhausted first, so self-healing does not start it again under the test.
    const book = new IncidentBook(harness.prisma, new Timeline(harness.prisma));
    let incident = await book.open(down.serverId, { kind: 'container_stopped', detail: { state: 'exited' } }, new Date());
    for (let i = 0; i < MAX_REPAIR_ATTEMPTS; i++) incident = await book.repairFailed(incident, 'exited again at once', 'container_crashed', new Date());
    const container = docker.getContainer(containerName(down.serverId));
    await container.stop({ t: 1 });
    try {
      const firing = await until(
        'the alert firing',
        async () => {
          const alerts = await query('ALERTS{alertname="ParleyServerDown",alertstate="firing"}');
          return alerts.length > 0 ? alerts : null;
        },
        60_000,
        500,
      );
      expect(firing.map((a) => [a.metric.server_id, a.metric.domain, a.metric.severity])).toEqual([[down.serverId, down.domain, 'critical']]);
      expect((await query(`up{job="parley-server",server_id="${other.serverId}"}`)).map((r) => r.value[1])).toEqual(['1']);
    } finally {
      // Back as it was (running, incident resolved), so the tests that run after this one find both servers up.
      await container.start();
      await book.resolve(incident, new Date());
      await until('the server scraped up again', async () => ((await query(`up{job="parley-server",server_id="${down.serverId}"}`))[0]?.value[1] === '1' ? true : null), 60_000, 500);
    }
  }, 150_000);
});
