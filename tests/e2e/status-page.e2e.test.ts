import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAdapters } from '../../worker/src/adapters.js';
import { startHealthReporter, type HealthReporter } from '../../worker/src/health/health-reporter.js';
import { statusIncidentRecorder } from '../../worker/src/health/status-incidents.js';
import { STATUS_CACHE_MS } from '../../api/src/status/status.service.js';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { VIEWPORTS, auditPage } from '../support/page-audit.js';
import { startPlatformApi, type ListeningApi } from '../support/platform-api.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { TcpProxy } from '../support/tcp-proxy.js';

// The public status page in Debian's Chromium, never logged in, against the real API and the
// worker's real health reporter (Docker, PowerDNS behind a relay the test takes down, Pebble),
// whose reports open and resolve the incidents the page lists.

const WAIT = { short: 15_000, refresh: 30_000 + STATUS_CACHE_MS + 20_000 };
const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts', 'status');
const DAY = 86_400_000;
const oldOutage = { startedAt: new Date(Date.now() - 2 * DAY), resolvedAt: new Date(Date.now() - 2 * DAY + 25 * 60_000) };

let harness: ProvisioningHarness;
let api: ListeningApi;
let powerDns: TcpProxy;
let redis: Redis;
let reporter: HealthReporter;
let browser: TestBrowser;
let page: Page;
const consoleErrors: string[] = [];

/** Each row of a list in the named section, its text on one line: "DNS Down". */
const rowsOf = (section: string) => async () =>
  (await page.getByRole('region', { name: section }).getByRole('listitem').allInnerTexts()).map((text) => text.replace(/\s+/g, ' ').trim());

/** A date and time as the page writes it, formatted in the browser (its locale and time zone). */
const inBrowser = (at: Date) =>
  page.evaluate((iso) => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso)), at.toISOString());

beforeAll(async () => {
  execFileSync('bash', ['web/build.sh'], { stdio: 'ignore' });
  harness = await ProvisioningHarness.create(43_500);
  api = await startPlatformApi(harness);
  const { config } = harness;
  if (config.dns.kind !== 'powerdns') throw new Error('the sandbox runs PowerDNS');
  const pdnsUrl = new URL(config.dns.apiUrl);
  powerDns = await TcpProxy.start({ host: pdnsUrl.hostname, port: Number(pdnsUrl.port) });
  pdnsUrl.port = String(powerDns.port);
  await powerDns.down();
  const adapters = createAdapters({ ...config, dns: { ...config.dns, apiUrl: pdnsUrl.toString().replace(/\/$/, '') } });
  redis = new Redis(harness.redis.url);
  await harness.prisma.platformIncident.create({ data: { component: 'containers', ...oldOutage } });
  // The worker's own reporter and incident recorder, every second, on this file's Redis and database.
  reporter = startHealthReporter({
    redis,
    workerId: 'status-page-e2e',
    probes: { docker: () => adapters.containers.ping(), dns: () => adapters.dns.ping(), ca: () => adapters.ca.ping() },
    intervalMs: 1_000,
    onPublishError: () => undefined,
    onReport: statusIncidentRecorder(harness.prisma, pino({ level: 'warn' })),
  });
  await reporter.publishNow();
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
});

afterAll(async () => {
  await reporter?.stop();
  await browser?.close();
  await api?.close();
  await powerDns?.down();
  redis?.disconnect();
  await harness?.close();
});

// One outage as a visitor sees it, in order: DNS down and shown, then back and the page refreshed.
describe('the public status page', { shuffle: false }, () => {
  it('is linked from the log-in page for someone who is not logged in', async () => {
    await page.goto(`${api.url}/login`);
    await page.getByRole('contentinfo').getByRole('link', { name: 'Platform status' }).click();
    await expect.poll(() => new URL(page.url()).pathname, { timeout: WAIT.short }).toBe('/status');
    await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText(), { timeout: WAIT.short }).toBe('Platform status');
    expect(await page.title()).toBe('Platform status · Parley');
    // Nobody is logged in: the page asked for no session and offers no account.
    expect(await page.getByRole('button', { name: 'Log out' }).count()).toBe(0);
  });

  it('shows DNS down in words and its ongoing incident, with the earlier outage', async () => {
    await expect.poll(rowsOf('Components'), { timeout: WAIT.short }).toEqual([
      'Hosted servers Working',
      'Ordering and dashboard Working',
      'Setting up and changing servers Working',
      'DNS Down',
      'Certificates Working',
    ]);
    await expect
      .poll(() => page.getByRole('status').innerText(), { timeout: WAIT.short })
      .toBe('Some of Parley is not working right now: DNS. Everything else is.');

    // Opened by the second failed check in a row, a second or so after the page first showed DNS down.
    const opened = await vi.waitFor(() => harness.prisma.platformIncident.findFirstOrThrow({ where: { component: 'dns', resolvedAt: null } }), { timeout: WAIT.short });
    const [dnsStart, oldStart, oldEnd] = await Promise.all([inBrowser(opened.startedAt), inBrowser(oldOutage.startedAt), inBrowser(oldOutage.resolvedAt)]);
    await expect.poll(rowsOf('Recent incidents'), { timeout: WAIT.short }).toEqual([
      `DNS down From ${dnsStart} to now (ongoing) Ongoing`,
      `Hosted servers down From ${oldStart} to ${oldEnd} Resolved`,
    ]);
  });

  it('passes the accessibility audit at desktop and phone width, and is saved as screenshots', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    for (const [viewport, size] of Object.entries(VIEWPORTS)) {
      await page.setViewportSize(size);
      await page.screenshot({ path: join(ARTIFACTS, `status-${viewport}.png`), fullPage: true, animations: 'disabled' });
    }
    for (const audit of await auditPage(page, 'status')) {
      expect(audit.violations, `status page at ${audit.viewport} width`).toEqual([]);
      expect(audit.overflowPx, `status page scrolls sideways at ${audit.viewport} width`).toBeLessThanOrEqual(0);
    }
  });

  it('refreshes on its own: DNS back, the incident resolved, everything working', async () => {
    await powerDns.up();
    await expect.poll(rowsOf('Components'), { timeout: WAIT.refresh, interval: 1_000 }).not.toContain('DNS Down');
    expect(await rowsOf('Components')()).toContain('DNS Working');
    await expect.poll(() => page.getByRole('status').innerText(), { timeout: WAIT.short }).toBe('Everything is working.');
    const resolved = await harness.prisma.platformIncident.findFirstOrThrow({ where: { component: 'dns' } });
    expect(resolved.resolvedAt).not.toBeNull();
    const [start, end] = await Promise.all([inBrowser(resolved.startedAt), inBrowser(resolved.resolvedAt ?? new Date())]);
    await expect.poll(async () => (await rowsOf('Recent incidents')())[0], { timeout: WAIT.short }).toBe(`DNS down From ${start} to ${end} Resolved`);
    // The only failed request is the dashboard asking whose session this is (401 for nobody).
    expect(consoleErrors.filter((text) => !text.includes('401'))).toEqual([]);
  });
});
