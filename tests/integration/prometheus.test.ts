import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/until.js';

const run = promisify(execFile);
/** The sandbox Prometheus that ensure_prometheus starts (infra/bootstrap/services.sh, PROMETHEUS_PORT). */
const PROMETHEUS_URL = 'http://127.0.0.1:9090';
const RULES_FILE = fileURLToPath(new URL('../../infra/prometheus/alerts.yml', import.meta.url));
const RULES_TESTS = fileURLToPath(new URL('../../infra/prometheus/alerts.test.yml', import.meta.url));
/** The alerts infra/prometheus/alerts.yml defines, in its order. */
const ALERTS = [
  'ParleyServerDown',
  'ParleyCertificateExpiringSoon',
  'ParleyCertificateRenewalFailing',
  'ParleyBackupFailed',
  'ParleyBackupOverdue',
  'ParleyNodeMemoryHigh',
  'ParleyNodeDiskHigh',
  'ParleyAcmeBudgetNearlySpent',
  'ParleyTargetDown',
];

/** promtool's exit code, stdout and stderr; never throws for a non-zero exit. */
async function promtool(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('promtool', args, { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string; killed?: boolean };
    if (typeof failed.code !== 'number' || failed.killed) throw error; // not found, timed out: not an answer
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** GET on the sandbox Prometheus' HTTP API: its `data`, bounded in time. */
async function prometheusApi<T>(path: string): Promise<T> {
  const response = await fetch(`${PROMETHEUS_URL}${path}`, { signal: AbortSignal.timeout(5_000) });
  expect(response.status, `GET ${path}`).toBe(200);
  const body = (await response.json()) as { status: string; data: T };
  expect(body.status).toBe('success');
  return body.data;
}

describe('alert rules (promtool)', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'parley-prometheus-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('alerts.yml is valid and holds every Parley alert', async () => {
    const result = await promtool('check', 'rules', RULES_FILE);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain(`SUCCESS: ${ALERTS.length} rules found`);
    const names = [...(await readFile(RULES_FILE, 'utf8')).matchAll(/^\s*- alert:\s*(\S+)\s*$/gm)].map((m) => m[1]);
    expect(names).toEqual(ALERTS);
  });

  it('each alert fires when it should and stays silent otherwise (alerts.test.yml)', async () => {
    const result = await promtool('test', 'rules', RULES_TESTS);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS');
  });

  it('a rules file with an invalid expression is rejected', async () => {
    const rules = await readFile(RULES_FILE, 'utf8');
    const broken = rules.replace('expr: parley_backup_last_failed == 1', 'expr: parley_backup_last_failed == (1');
    expect(broken).not.toBe(rules);
    const file = join(scratch, 'alerts.yml');
    await writeFile(file, broken);
    const result = await promtool('check', 'rules', file);
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/ParleyBackupFailed.*parse error/);
  });
});

describe('the sandbox Prometheus', () => {
  beforeAll(async () => {
    await until(
      `${PROMETHEUS_URL}/-/ready (started by ./parley up and ./parley test through infra/bootstrap/setup.sh)`,
      async () => {
        const response = await fetch(`${PROMETHEUS_URL}/-/ready`, { signal: AbortSignal.timeout(2_000) }).catch(() => null);
        return response?.ok ? true : null;
      },
      30_000,
      500,
    );
  });

  it('listens on loopback only', async () => {
    const flags = await prometheusApi<Record<string, string>>('/api/v1/status/flags');
    expect(flags['web.listen-address']).toBe('127.0.0.1:9090');
  });

  it('has loaded exactly the alert rules of infra/prometheus/alerts.yml', async () => {
    const data = await prometheusApi<{ groups: { name: string; file: string; rules: { type: string; name: string; query: string }[] }[] }>('/api/v1/rules?type=alert');
    const loaded = data.groups.flatMap((group) => group.rules.map((rule) => rule.name));
    expect(loaded.toSorted()).toEqual(ALERTS.toSorted());
    expect(data.groups.map((group) => group.name)).toEqual(['parley']);
    // The same expressions too, not just the names: the running copy is the shipped file's.
    const shipped = await readFile(RULES_FILE, 'utf8');
    const backupOverdue = data.groups[0]?.rules.find((rule) => rule.name === 'ParleyBackupOverdue');
    expect(shipped).toContain('1.5 * parley_backup_interval_seconds');
    expect(backupOverdue?.query).toContain('1.5 * parley_backup_interval_seconds');
  });

  it('scrapes the API, the worker and the hosted servers', async () => {
    const config = await prometheusApi<{ yaml: string }>('/api/v1/status/config');
    const jobs = [...config.yaml.matchAll(/job_name:\s*(\S+)/g)].map((m) => m[1]);
    expect(jobs.toSorted()).toEqual(['parley-api', 'parley-server', 'parley-worker']);
    expect(config.yaml).toContain('url: http://127.0.0.1:9102/targets/servers');
    // The static targets are listed whether or not they answer (hosted servers appear only while
    // the worker serves them, so parley-server may have none).
    const targets = await prometheusApi<{ activeTargets: { scrapePool: string; scrapeUrl: string }[] }>('/api/v1/targets?state=active');
    const urls = Object.fromEntries(targets.activeTargets.filter((t) => t.scrapePool !== 'parley-server').map((t) => [t.scrapePool, t.scrapeUrl]));
    expect(urls).toEqual({ 'parley-api': 'http://127.0.0.1:9101/metrics', 'parley-worker': 'http://127.0.0.1:9102/metrics' });
  });
});
