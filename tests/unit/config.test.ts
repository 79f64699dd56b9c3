import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../api/src/config.js';
import { loadWorkerConfig } from '../../worker/src/config.js';
import { ConfigError } from '../../worker/src/contracts/env-fields.js';

const KEY = `1:${Buffer.alloc(32, 7).toString('base64')}`;
const apiEnv = {
  DATABASE_URL: 'postgresql://parley:pw@127.0.0.1:5432/parley',
  REDIS_URL: 'redis://127.0.0.1:6379',
  PLATFORM_ZONE: 'parley.test',
  SECRETS_KEYRING: KEY,
};
const workerEnv = {
  ...apiEnv,
  DNS_RESOLVER: '127.0.0.1:5353',
  DNS_PROVIDER: 'powerdns',
  PDNS_API_URL: 'http://127.0.0.1:8081',
  PDNS_API_KEY: 'k',
  ACME_DIRECTORY_URL: 'https://127.0.0.1:14000/dir',
  ACME_CONTACT_EMAIL: 'admin@parley.test',
  NODE_PUBLIC_ADDRESS: '127.0.0.1',
  PROSODY_IMAGE: 'parley/prosody:0123456789ab',
  PLATFORM_KEYRING: `1:${Buffer.alloc(32, 9).toString('base64')}`,
  BACKUP_REPOSITORY: '/var/lib/parley/backups/restic',
  BACKUP_PASSWORD: 'a long enough repository password',
};

function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('parses a complete sandbox environment with defaults', () => {
    const api = loadApiConfig(apiEnv);
    expect(api).toMatchObject({ mode: 'sandbox', host: '127.0.0.1', port: 8080, platformZone: 'parley.test' });
    const worker = loadWorkerConfig({ ...workerEnv, PLATFORM_ZONE: 'Parley.Test.' });
    expect(worker.platformZone).toBe('parley.test');
    expect(worker.dns).toEqual({ kind: 'powerdns', apiUrl: 'http://127.0.0.1:8081', apiKey: 'k', serverId: 'localhost' });
  });

  it.each([
    ['DATABASE_URL', { DATABASE_URL: undefined }, 'is required but not set'],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }, 'postgresql'],
    ['REDIS_URL', { REDIS_URL: 'localhost:6379' }, 'redis://'],
    ['API_PORT', { API_PORT: '70000' }, 'port'],
    ['API_PORT', { API_PORT: 'abc' }, 'must be a port number'],
    ['PLATFORM_ZONE', { PLATFORM_ZONE: 'not a zone' }, 'DNS zone'],
    ['SECRETS_KEYRING', { SECRETS_KEYRING: 'short' }, 'VERSION:BASE64KEY'],
    ['PARLEY_MODE', { PARLEY_MODE: 'staging' }, '"sandbox" or "production"'],
  ])('refuses a bad or missing %s and names it', (name, override, hint) => {
    const problems = problemsOf(() => loadApiConfig({ ...apiEnv, ...override }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`${name}:`);
    expect(problems[0]).toContain(hint);
  });

  it('limits unverified custom domains: 7 days and 10 per account unless set', () => {
    expect(loadApiConfig(apiEnv).domainClaims).toEqual({ pendingTtlDays: 7, pendingLimit: 10 });
    expect(loadApiConfig({ ...apiEnv, DOMAIN_PENDING_TTL_DAYS: '3', DOMAIN_PENDING_LIMIT: '25' }).domainClaims).toEqual({ pendingTtlDays: 3, pendingLimit: 25 });
    expect(problemsOf(() => loadApiConfig({ ...apiEnv, DOMAIN_PENDING_TTL_DAYS: '0' }))).toEqual(['DOMAIN_PENDING_TTL_DAYS: must be at least 1 days']);
    expect(problemsOf(() => loadApiConfig({ ...apiEnv, DOMAIN_PENDING_LIMIT: 'ten' }))).toEqual(['DOMAIN_PENDING_LIMIT: must be a whole number of domains']);
  });

  it('serves the API\'s metrics on 127.0.0.1:9101 unless set, nowhere when empty', () => {
    expect(loadApiConfig(apiEnv).metrics).toEqual({ host: '127.0.0.1', port: 9101 });
    expect(loadApiConfig({ ...apiEnv, API_METRICS_ADDRESS: '' }).metrics).toBeNull();
    expect(loadApiConfig({ ...apiEnv, API_METRICS_ADDRESS: '[::1]:9101' }).metrics).toEqual({ host: '::1', port: 9101 });
    const problems = problemsOf(() => loadApiConfig({ ...apiEnv, API_METRICS_ADDRESS: '9101' }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^API_METRICS_ADDRESS: must be ADDRESS:PORT/);
  });

  it('never echoes a secret value in its message', () => {
    const problems = problemsOf(() => loadApiConfig({ ...apiEnv, SECRETS_KEYRING: '1:supersecretvalue' }));
    expect(problems.join('\n')).not.toContain('supersecretvalue');
  });

  it('requires the Route 53 zone only when Route 53 is the DNS provider', () => {
    const problems = problemsOf(() => loadWorkerConfig({ ...workerEnv, DNS_PROVIDER: 'route53' }));
    expect(problems).toEqual(['ROUTE53_HOSTED_ZONE_ID: is required when DNS_PROVIDER=route53']);
    const worker = loadWorkerConfig({ ...workerEnv, DNS_PROVIDER: 'route53', ROUTE53_HOSTED_ZONE_ID: 'Z0ABC', AWS_REGION: 'eu-west-1' });
    expect(worker.dns).toEqual({ kind: 'route53', hostedZoneId: 'Z0ABC', region: 'eu-west-1', endpoint: undefined });
    expect(problemsOf(() => loadWorkerConfig({ ...workerEnv, PDNS_API_KEY: undefined }))).toEqual([
      'PDNS_API_KEY: is required when DNS_PROVIDER=powerdns',
    ]);
    // docker-compose.yml passes both as `${NAME:-}`: empty is unset, for either provider.
    expect(loadWorkerConfig({ ...workerEnv, ROUTE53_HOSTED_ZONE_ID: '' }).dns.kind).toBe('powerdns');
    expect(problemsOf(() => loadWorkerConfig({ ...workerEnv, PDNS_API_KEY: '' }))).toEqual(['PDNS_API_KEY: is required when DNS_PROVIDER=powerdns']);
    expect(loadWorkerConfig({ ...workerEnv, DNS_PROVIDER: 'route53', ROUTE53_HOSTED_ZONE_ID: 'Z0ABC', PDNS_API_KEY: '' }).dns.kind).toBe('route53');
  });

  it('gives the worker a platform keyring of its own, which the API has no setting for', () => {
    expect(loadWorkerConfig(workerEnv).keyrings).toEqual({ credentials: KEY, platform: workerEnv.PLATFORM_KEYRING });
    expect(problemsOf(() => loadWorkerConfig({ ...workerEnv, PLATFORM_KEYRING: undefined }))).toEqual(['PLATFORM_KEYRING: is required but not set']);
    // A key shared with SECRETS_KEYRING would hand the API the platform's keys after all.
    expect(problemsOf(() => loadWorkerConfig({ ...workerEnv, PLATFORM_KEYRING: `${workerEnv.PLATFORM_KEYRING},2:${KEY.slice(2)}` }))).toEqual([
      'PLATFORM_KEYRING: must not reuse a key of SECRETS_KEYRING, which the API holds too',
    ]);
    expect(JSON.stringify(loadApiConfig({ ...apiEnv, PLATFORM_KEYRING: workerEnv.PLATFORM_KEYRING }))).not.toContain(workerEnv.PLATFORM_KEYRING.slice(2));
  });

  it('runs servers on one engine unless told to use a Swarm, which needs the node agent image; restores a lost node\'s servers after 30 min unless set', () => {
    expect(loadWorkerConfig(workerEnv).docker).toMatchObject({ runtime: 'docker', agentImage: null });
    expect(loadWorkerConfig(workerEnv).jobs.nodeLossRestoreAfterMs).toBe(1_800_000);
    expect(problemsOf(() => loadWorkerConfig({ ...workerEnv, CONTAINER_RUNTIME: 'swarm' }))).toEqual([
      'NODE_AGENT_IMAGE: is required when CONTAINER_RUNTIME=swarm (./parley sets it from infra/node-agent/build.sh)',
    ]);
    expect(loadWorkerConfig({ ...workerEnv, CONTAINER_RUNTIME: 'swarm', NODE_AGENT_IMAGE: 'parley/node-agent:0123abcd', NODE_LOSS_RESTORE_AFTER_MS: '0' })).toMatchObject({
      docker: { runtime: 'swarm', agentImage: 'parley/node-agent:0123abcd' },
      jobs: { nodeLossRestoreAfterMs: 0 },
    });
    expect(problemsOf(() => loadWorkerConfig({ ...workerEnv, CONTAINER_RUNTIME: 'kubernetes' }))[0]).toMatch(/^CONTAINER_RUNTIME: /);
  });

  it('offers TURN over TLS only with coturn\'s certificate directory and pid file, and serves the worker\'s metrics on 127.0.0.1:9102 unless set', () => {
    const calls = { ...workerEnv, TURN_SECRETS_DATABASE_URL: 'postgresql://w:p@127.0.0.1:5432/parley_turn' };
    expect(loadWorkerConfig(calls).calls?.tls).toBeNull();
    expect(loadWorkerConfig({ ...calls, TURN_TLS_DIR: '' }).calls?.tls).toBeNull();
    expect(loadWorkerConfig({ ...calls, TURN_TLS_DIR: '/var/lib/parley/coturn/tls', TURN_PID_FILE: '/run/coturn.pid' }).calls?.tls).toEqual({
      port: 5349,
      dir: '/var/lib/parley/coturn/tls',
      pidFile: '/run/coturn.pid',
    });
    expect(problemsOf(() => loadWorkerConfig({ ...calls, TURN_TLS_DIR: '/var/lib/parley/coturn/tls' }))).toEqual(['TURN_PID_FILE: is required when TURN_TLS_DIR is set']);
    expect(problemsOf(() => loadWorkerConfig({ ...calls, TURN_TLS_DIR: 'tls', TURN_PID_FILE: '/run/coturn.pid' }))).toEqual(['TURN_TLS_DIR: must be an absolute path']);
    expect(loadWorkerConfig(workerEnv).metrics).toEqual({ host: '127.0.0.1', port: 9102 });
    expect(loadWorkerConfig({ ...workerEnv, WORKER_METRICS_ADDRESS: '' }).metrics).toBeNull();
    expect(problemsOf(() => loadWorkerConfig({ ...workerEnv, WORKER_METRICS_ADDRESS: '127.0.0.1:70000' }))).toEqual(['WORKER_METRICS_ADDRESS: must have a port from 1 to 65535']);
  });

  it('gives the worker the backup repository and its password, checked; the database backup every 6 h unless set, 0 for off', () => {
    expect(loadWorkerConfig(workerEnv).backups).toMatchObject({ repository: workerEnv.BACKUP_REPOSITORY, databaseIntervalMs: 21_600_000, databaseKeep: { daily: 7, weekly: 4 } });
    expect(loadWorkerConfig({ ...workerEnv, DATABASE_BACKUP_INTERVAL_MS: '0' }).backups.databaseIntervalMs).toBe(0);
    expect(problemsOf(() => loadWorkerConfig({ ...workerEnv, BACKUP_REPOSITORY: undefined, BACKUP_PASSWORD: 'short', DATABASE_BACKUP_INTERVAL_MS: '5' }))).toEqual([
      'BACKUP_REPOSITORY: is required but not set',
      'BACKUP_PASSWORD: must be at least 16 characters',
      'DATABASE_BACKUP_INTERVAL_MS: must be 0 (off) or from 60000 to 604800000',
    ]);
  });

  it('allows crash-test failpoints only in sandbox mode, and checks the node port range', () => {
    expect(loadWorkerConfig({ ...workerEnv, PARLEY_FAILPOINTS: 'dns.after-effects' }).failpoints).toEqual(['dns.after-effects']);
    expect(problemsOf(() => loadWorkerConfig({ ...workerEnv, PARLEY_MODE: 'production', PARLEY_FAILPOINTS: 'dns.after-effects' }))).toEqual([
      'PARLEY_FAILPOINTS: is for crash tests and only allowed in sandbox mode',
    ]);
    expect(loadWorkerConfig({ ...workerEnv, NODE_PORT_RANGE: '30000-30399' }).node).toMatchObject({ portRangeStart: 30000, portRangeEnd: 30399 });
    expect(problemsOf(() => loadWorkerConfig({ ...workerEnv, NODE_PORT_RANGE: '80-90' }))[0]).toMatch(/^NODE_PORT_RANGE: /);
    expect(loadWorkerConfig(workerEnv).node.tenantNetwork).toBe('parley-tenants');
    // Also a bridge interface's name: Linux allows 15 characters.
    expect(problemsOf(() => loadWorkerConfig({ ...workerEnv, TENANT_NETWORK: 'parley-tenants-x' }))[0]).toMatch(/^TENANT_NETWORK: must be 1-15/);
    // Containers reach the node's own range unless told otherwise, and resolve through the host's.
    expect(loadWorkerConfig(workerEnv).node).toMatchObject({ reachablePorts: { first: 20000, last: 29999 }, containerDns: [] });
    expect(loadWorkerConfig({ ...workerEnv, TENANT_REACHABLE_PORTS: '20000-47999', CONTAINER_DNS: '10.213.0.1, 10.213.0.2' }).node).toMatchObject({
      reachablePorts: { first: 20000, last: 47999 },
      containerDns: ['10.213.0.1', '10.213.0.2'],
    });
    expect(problemsOf(() => loadWorkerConfig({ ...workerEnv, CONTAINER_DNS: 'ns1.example.com' }))[0]).toMatch(/^CONTAINER_DNS: must be comma-separated IPv4/);
    expect(problemsOf(() => loadWorkerConfig({ ...workerEnv, TENANT_REACHABLE_PORTS: '20000' }))[0]).toMatch(/^TENANT_REACHABLE_PORTS: must be FIRST-LAST/);
  });

  it.each([
    ['api', 'api/src/main.ts', apiEnv],
    ['worker', 'worker/src/main.ts', workerEnv],
  ])('the %s process refuses to start and names the bad variable', async (_name, entry, env) => {
    const run = promisify(execFile);
    const failure = await run(process.execPath, ['--import', 'tsx', entry], {
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', ...env, REDIS_URL: 'not-a-url' },
      timeout: 30_000,
    }).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(78);
    expect(failure?.stderr).toContain('REDIS_URL: must be a redis:// or rediss:// URL');
  });
});
