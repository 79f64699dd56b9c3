import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PowerDnsProvider } from '../../worker/src/adapters/powerdns.dns-provider.js';
import { TENANT_FORWARD_CHAIN, TENANT_INPUT_CHAIN } from '../../worker/src/isolation/tenant-firewall-rules.js';
import { pebbleIssuers } from '../support/pebble.js';
import { signUpWithToken, untilGoneFromApi, type ApiRequest } from '../support/platform-api.js';
import { tearDownAll } from '../support/tear-down.js';
import { composeImages, testEnv } from '../support/test-env.js';
import { until } from '../support/until.js';
import { connectAs } from '../support/xmpp.js';

const run = promisify(execFile);
const required = {
  POSTGRES_PASSWORD: 'pw',
  PLATFORM_ZONE: 'chat.example.com',
  SECRETS_KEYRING: `1:${Buffer.alloc(32).toString('base64')}`,
  PLATFORM_KEYRING: `1:${Buffer.alloc(32, 1).toString('base64')}`,
  BACKUP_REPOSITORY: 's3:s3.example.com/parley-backups',
  BACKUP_PASSWORD: 'a long enough repository password',
  ACME_CONTACT_EMAIL: 'ops@example.com',
  NODE_PUBLIC_ADDRESS: '192.0.2.10',
  PROSODY_IMAGE: 'parley/prosody:0123456789ab',
};
const PATH = '/usr/bin:/bin:/usr/local/bin';

// docker.io ships no Compose plugin; Debian's docker-compose (v1) is installed by the bootstrap.
const compose = (env: Record<string, string>, ...args: string[]) =>
  run('docker-compose', ['-f', 'docker-compose.yml', ...args], { env: { PATH, ...env }, timeout: 60_000 });

describe('docker-compose.yml', () => {
  it('is accepted by Compose, with the sandbox profile too', async () => {
    const { stdout } = await compose(required, 'config');
    expect(stdout).toContain('parley/platform:local');
    expect(stdout).toMatch(/127\.0\.0\.1:8080/);
    // The worker installs the tenant firewall in the host's network namespace.
    expect(stdout).toMatch(/worker:[\s\S]*network_mode: host/);
    expect(stdout).toContain('NET_ADMIN');
    const services = await compose(required, '--profile', 'sandbox', 'config', '--services');
    expect(services.stdout.split('\n').filter(Boolean).sort()).toEqual(['api', 'migrate', 'pebble', 'postgres', 'powerdns', 'redis', 'worker']);
  });

  it('gives the platform keyring to the worker only, never to the API', async () => {
    const { stdout } = await compose(required, 'config');
    // `config` prints each service as a block indented by two spaces.
    const service = (name: string) => stdout.match(new RegExp(`^  ${name}:\\n((?:   .*\\n|\\n)*)`, 'm'))?.[1] ?? '';
    expect(service('worker')).toContain(`PLATFORM_KEYRING: ${required.PLATFORM_KEYRING}`);
    expect(service('api')).toContain('SECRETS_KEYRING');
    expect(service('api')).not.toContain('PLATFORM_KEYRING');
    expect(service('worker')).toContain(`BACKUP_PASSWORD: ${required.BACKUP_PASSWORD}`);
    expect(service('api')).not.toContain('BACKUP_PASSWORD');
  });

  it('refuses to start without a required setting and names it', async () => {
    const { POSTGRES_PASSWORD: _omitted, ...rest } = required;
    const failure = await compose(rest, 'config', '-q').then(
      () => null,
      (error: { stderr: string }) => error,
    );
    expect(failure?.stderr).toContain('set POSTGRES_PASSWORD in .env');
  });
});

/**
 * This file's own ports, apart from the harness's blocks (21_000 to 47_999) and from the bottom of
 * the sandbox node's range, where ./parley up's worker and the benchmarks allocate first: the
 * node's range, then the published ports (the worker skips those, as every published port).
 */
const PORTS = { nodeRange: '20900-20989', api: 20_990, postgres: 20_991, redis: 20_992 };
/** What every sandbox worker on this host lets containers reach, so the shared tenant chains stay the same. */
const TEST_REACHABLE_PORTS = '20000-47999';
const PROJECT = 'parley-compose-test';
/** Its own tenant bridge (at most 15 characters): the hooks into the shared chains name it. */
const TENANT_NETWORK = 'parley-compose';

interface ServerDto {
  id: string;
  name: string;
  domain: string;
  state: string;
  stateReason: string | null;
  connection: { ports: { starttls: number } } | null;
}

// The whole platform as Compose runs it, from the images ./parley test built: Postgres, Redis,
// migrations, the API and the worker in containers. DNS and ACME are this host's sandbox
// PowerDNS and Pebble (the sandbox profile's containers need a registry), reached by the worker
// through the host's network like a production worker reaches Route 53 and Let's Encrypt.
describe('docker compose up: a working platform', { shuffle: false }, () => {
  const env = testEnv();
  const images = composeImages();
  const docker = new Docker({ socketPath: env.DOCKER_SOCKET });
  const dns = new PowerDnsProvider({ apiUrl: env.PDNS_API_URL, apiKey: env.PDNS_API_KEY, serverId: 'localhost', zone: env.PLATFORM_ZONE });
  const apiUrl = `http://127.0.0.1:${PORTS.api}`;
  const serverName = `compose${randomBytes(4).toString('hex')}`;
  const domain = `${serverName}.${env.PLATFORM_ZONE}`;
  let workDir: string;
  let composeCommand: string[];
  let request: ApiRequest;
  let server: ServerDto | undefined;

  const composeEnv: Record<string, string> = {
    PATH,
    DOCKER_HOST: `unix://${env.DOCKER_SOCKET}`,
    PARLEY_MODE: 'sandbox',
    LOG_LEVEL: 'warn',
    PLATFORM_IMAGE: images.PLATFORM_IMAGE,
    POSTGRES_IMAGE: images.POSTGRES_IMAGE,
    REDIS_IMAGE: images.REDIS_IMAGE,
    PROSODY_IMAGE: env.PROSODY_IMAGE,
    POSTGRES_PASSWORD: randomBytes(16).toString('hex'),
    PLATFORM_ZONE: env.PLATFORM_ZONE,
    SECRETS_KEYRING: `1:${randomBytes(32).toString('base64')}`,
    PLATFORM_KEYRING: `1:${randomBytes(32).toString('base64')}`,
    // A path in the worker's container; nothing is backed up in this test (see the override).
    BACKUP_REPOSITORY: '/tmp/parley-backups',
    BACKUP_PASSWORD: randomBytes(16).toString('hex'),
    ACME_CONTACT_EMAIL: env.ACME_CONTACT_EMAIL,
    ACME_DIRECTORY_URL: env.ACME_DIRECTORY_URL,
    NODE_PUBLIC_ADDRESS: '127.0.0.1',
    DNS_PROVIDER: 'powerdns',
    DNS_RESOLVER: env.DNS_RESOLVER,
    PDNS_API_URL: env.PDNS_API_URL,
    PDNS_API_KEY: env.PDNS_API_KEY,
    NODE_NAME: 'compose-20900',
    NODE_PORT_RANGE: PORTS.nodeRange,
    TENANT_NETWORK,
    WORKER_METRICS_ADDRESS: '',
    API_HOST_PORT: String(PORTS.api),
    POSTGRES_HOST_PORT: String(PORTS.postgres),
    REDIS_HOST_PORT: String(PORTS.redis),
  };
  // What only the sandbox needs: Pebble's API certificate (a host file) and roots, PowerDNS for
  // the containers (the API's is on its own network: it asks PowerDNS on the edge address, as
  // customers' servers do), and no backups or checks beyond what this test looks at.
  const sandboxOverride = {
    services: {
      api: { environment: { DNS_RESOLVER: `${env.SANDBOX_EDGE_ADDRESS}:53` } },
      worker: {
        environment: {
          ACME_CA_BUNDLE_FILE: '/run/parley/acme-ca.pem',
          ACME_EXTRA_ROOTS_URL: env.ACME_EXTRA_ROOTS_URL,
          CONTAINER_DNS: env.SANDBOX_EDGE_ADDRESS,
          TENANT_REACHABLE_PORTS: TEST_REACHABLE_PORTS,
          DATABASE_BACKUP_INTERVAL_MS: '0',
          BACKUP_SCHEDULE_INTERVAL_MS: '0',
          DELETED_SERVER_GRACE_DAYS: '0',
          COMPLIANCE_AFTER_READY: 'false',
        },
        volumes: [`${env.ACME_CA_BUNDLE_FILE}:/run/parley/acme-ca.pem:ro`],
      },
    },
  };

  const composeRun = (args: string[], timeoutMs: number) => {
    const [command = 'docker-compose', ...prefix] = composeCommand;
    return run(command, [...prefix, '-p', PROJECT, '-f', 'docker-compose.yml', '-f', path.join(workDir, 'sandbox.json'), ...args], {
      env: composeEnv,
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
  };
  const answer = async <T>(response: Promise<Response>, status: number): Promise<T> => {
    const received = await response;
    const text = await received.text();
    expect(received.status, text).toBe(status);
    return JSON.parse(text) as T;
  };

  /** The hooks this file's worker put into the host's chains; the chains are every worker's. */
  const removeFirewallHooks = async () => {
    for (const [chain, target] of [
      ['INPUT', TENANT_INPUT_CHAIN],
      ['DOCKER-USER', TENANT_FORWARD_CHAIN],
    ] as const) {
      // Bounded: a hook is inserted once, but a killed run may have left one more.
      for (let i = 0; i < 5; i++) {
        const removed = await run('iptables', ['--wait', '10', '-D', chain, '-i', TENANT_NETWORK, '-j', target], { timeout: 15_000 }).then(
          () => true,
          () => false,
        );
        if (!removed) break;
      }
    }
  };
  /** Servers' containers and volumes the worker left (a failed run), the tenant network, and DNS records. */
  const removeWorkerLeftovers = async () => {
    const containers = await docker.listContainers({ all: true, filters: { network: [TENANT_NETWORK] } });
    for (const container of containers) {
      await docker.getContainer(container.Id).remove({ force: true, v: true });
      const serverId = container.Labels['parley.server'];
      const volumes = serverId ? ((await docker.listVolumes({ filters: { label: [`parley.server=${serverId}`] } })).Volumes ?? []) : [];
      for (const volume of volumes) await docker.getVolume(volume.Name).remove();
    }
    await docker
      .getNetwork(TENANT_NETWORK)
      .remove()
      .catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 404) throw error;
      });
    const records = (await dns.listRecords(env.PLATFORM_ZONE)).filter((r) => r.name === domain || r.name.endsWith(`.${domain}`));
    if (records.length > 0) await dns.removeRecords(env.PLATFORM_ZONE, records);
  };
  const down = () => composeRun(['down', '-v', '--remove-orphans', '-t', '20'], 120_000);
  /** The services' logs, kept where a failed run can be read afterwards. */
  const saveLogs = async () => {
    const dir = path.join(import.meta.dirname, '..', 'artifacts', 'compose');
    await mkdir(dir, { recursive: true });
    const containers = await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${PROJECT}`] } });
    for (const container of containers) {
      const name = container.Labels['com.docker.compose.service'] ?? container.Id;
      const { stdout, stderr } = await run('docker', ['logs', '--timestamps', container.Id], { env: composeEnv, timeout: 30_000, maxBuffer: 16 * 1024 * 1024 });
      await writeFile(path.join(dir, `${name}.log`), stdout + stderr);
    }
  };

  beforeAll(async () => {
    // The v2 plugin where there is one, else Debian's docker-compose (v1).
    composeCommand = await run('docker', ['compose', 'version'], { env: { PATH }, timeout: 15_000 }).then(
      () => ['docker', 'compose'],
      () => ['docker-compose'],
    );
    workDir = await mkdtemp(path.join(tmpdir(), 'parley-compose-'));
    await writeFile(path.join(workDir, 'sandbox.json'), JSON.stringify(sandboxOverride));
    // A run that was killed may have left its stack behind.
    await down();
    await removeWorkerLeftovers();
    await removeFirewallHooks();
    await composeRun(['up', '-d', '--no-build'], 300_000);
  }, 330_000);

  afterAll(async () => {
    await tearDownAll([saveLogs, down, removeWorkerLeftovers, removeFirewallHooks, () => rm(workDir, { recursive: true, force: true })]);
  }, 180_000);

  it('answers ready, and serves the built dashboard at /', async () => {
    await until(
      'the API in Compose answering ready',
      async () => {
        const response = await fetch(`${apiUrl}/health/ready`).catch(() => null);
        await response?.text();
        return response?.status === 200 ? true : null;
      },
      120_000,
      500,
    );
    const page = await fetch(`${apiUrl}/`);
    const html = await page.text();
    expect(page.status, html).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    // vite's output: index.html loading a hashed bundle from /assets/, which is served too.
    const script = /<script type="module"[^>]* src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script, html).toBeDefined();
    const bundle = await fetch(`${apiUrl}${script ?? ''}`);
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(10_000);
  }, 150_000);

  it('orders a server through the API; it becomes ready and its admin logs in with a real client', async () => {
    request = await signUpWithToken(apiUrl);
    const ordered = await answer<ServerDto>(request('POST', '/servers', { name: serverName }), 202);
    server = await until(
      'the ordered server ready',
      async () => {
        const current = await answer<ServerDto>(request('GET', `/servers/${ordered.id}`), 200);
        if (current.state === 'failed') throw new Error(`server failed: ${current.stateReason ?? '(no reason)'}`);
        return current.state === 'ready' ? current : null;
      },
      180_000,
      500,
    );
    expect(server.domain).toBe(domain);
    const admin = await answer<{ jid: string; password: string }>(request('POST', `/servers/${server.id}/credentials/reveal`, {}), 200);
    const port = server.connection?.ports.starttls ?? 0;
    expect(port).toBeGreaterThanOrEqual(20_900);
    expect(port).toBeLessThanOrEqual(20_989);
    const session = await connectAs({
      host: '127.0.0.1',
      port,
      domain,
      username: 'admin',
      password: admin.password,
      trustedCaPems: [(await pebbleIssuers()).root.toString()],
      timeoutMs: 15_000,
    });
    try {
      expect(session.jid.startsWith(`admin@${domain}/`)).toBe(true);
    } finally {
      await session.close();
    }
  }, 240_000);

  it('deletes the server through the API: its container and volumes go', async () => {
    const id = server?.id ?? '';
    expect(id).not.toBe('');
    await answer(request('DELETE', `/servers/${id}`, { confirm: serverName }), 202);
    await untilGoneFromApi(request, id);
    const labelled = { label: [`parley.server=${id}`] };
    await until('the server container removed', async () => ((await docker.listContainers({ all: true, filters: labelled })).length === 0 ? true : null), 30_000, 500);
    expect((await docker.listVolumes({ filters: labelled })).Volumes ?? []).toHaveLength(0);
  }, 120_000);

  it('docker compose down -v leaves no container, volume or network of the project', async () => {
    await saveLogs();
    await down();
    const project = { label: [`com.docker.compose.project=${PROJECT}`] };
    expect(await docker.listContainers({ all: true, filters: project })).toHaveLength(0);
    expect((await docker.listVolumes({ filters: project })).Volumes ?? []).toHaveLength(0);
    expect(await docker.listNetworks({ filters: project })).toHaveLength(0);
  }, 150_000);
});
