import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVISIONING_QUEUE, SERVER_BACKUP_JOB } from '../../worker/src/contracts/provisioning.js';
import { publishNodeStats } from '../../worker/src/health/node-stats.js';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { auditPage, VIEWPORTS } from '../support/page-audit.js';
import { startPlatformApi, type ListeningApi } from '../support/platform-api.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';

// The operator console in the built dashboard, in Debian's Chromium, against the real API on a
// database and Redis of its own: rows seeded as the worker would leave them, the node's host stats
// published by the worker's own function, and a job that really failed on the real queue.

const WAIT = 15_000;
const DAY_MS = 86_400_000;
const PASSWORD = 'violet staple orbit lantern';
const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts', 'operator');

let harness: ProvisioningHarness;
let api: ListeningApi;
let browser: TestBrowser;
let page: Page;
let connection: Redis;
let workerConnection: Redis;
let queue: Queue;
let worker: Worker;
let heartbeat: NodeJS.Timeout | undefined;
const label = `o${randomBytes(4).toString('hex')}`;
const operatorEmail = `${label}-operator@example.com`;
const customerEmail = `${label}-customer@example.com`;
const seeded = { nodeName: `${label}-node`, overdue: '', onTime: '', jobId: '' };
const consoleErrors: string[] = [];
const operatorRequests: string[] = [];

async function signUp(email: string): Promise<string> {
  const answer = await fetch(`${api.url}/api/v1/accounts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
  if (answer.status !== 201) throw new Error(`sign-up: ${answer.status} ${await answer.text()}`);
  return ((await answer.json()) as { account: { id: string } }).account.id;
}

/** What the worker leaves in the database: a node with two servers, an incident it gave up on, a certificate about to expire, backups, ACME orders. */
async function seedPlatform(customerId: string): Promise<void> {
  const { prisma } = harness;
  const now = Date.now();
  const node = await prisma.node.create({
    data: { name: seeded.nodeName, hostname: `${seeded.nodeName}.${harness.config.platformZone}`, publicAddress: '127.0.0.1', dockerEndpoint: 'unix:///var/run/docker.sock', portRangeStart: 44_500, portRangeEnd: 44_599 },
  });
  const team = await prisma.plan.findUniqueOrThrow({ where: { code: 'team' } });
  const server = async (name: string) =>
    prisma.server.create({
      data: { accountId: customerId, name, domain: `${name}.${harness.config.platformZone}`, domainKind: 'platform', planId: team.id, nodeId: node.id, state: 'ready', readyAt: new Date(now - 3 * DAY_MS) },
    });
  const [overdue, onTime] = [await server(`${label}-a`), await server(`${label}-b`)];
  [seeded.overdue, seeded.onTime] = [overdue.domain, onTime.domain];
  await prisma.serverBackup.createMany({
    data: [
      { serverId: overdue.id, kind: 'scheduled', status: 'succeeded', requestedAt: new Date(now - 2 * DAY_MS), finishedAt: new Date(now - 2 * DAY_MS) },
      { serverId: overdue.id, kind: 'scheduled', status: 'failed', lastErrorType: 'backup_repository_unavailable', finishedAt: new Date(now - 3_600_000) },
      { serverId: onTime.id, kind: 'scheduled', status: 'succeeded', finishedAt: new Date(now - 600_000) },
    ],
  });
  await prisma.incident.create({
    data: { serverId: overdue.id, kind: 'container_stopped', status: 'needs_attention', repairAttempts: 5, lastError: 'container exited with code 137', lastErrorType: 'unknown' },
  });
  await prisma.certificate.create({ data: { serverId: overdue.id, names: [overdue.domain], status: 'active', notAfter: new Date(now + 3 * DAY_MS), failureCount: 3, lastErrorType: 'acme_unavailable' } });
  await prisma.certificate.create({ data: { serverId: onTime.id, names: [onTime.domain], status: 'active', notAfter: new Date(now + 60 * DAY_MS) } });
  const key = await prisma.encryptedSecret.create({ data: { purpose: 'acme_account_key', keyring: 'platform', keyVersion: 1, iv: Buffer.alloc(12), ciphertext: Buffer.from('x'), authTag: Buffer.alloc(16) } });
  const acmeAccount = await prisma.acmeAccount.create({ data: { directoryUrl: 'https://ca.example/dir', keyId: key.id } });
  await prisma.acmeOrder.createMany({ data: [1, 2].map((minutes) => ({ acmeAccountId: acmeAccount.id, serverId: overdue.id, accountId: customerId, names: [overdue.domain], createdAt: new Date(now - minutes * 60_000) })) });

  // The node's heartbeat, as the worker's health reporter publishes it (every 5 s, a 15 s TTL).
  const publish = () => publishNodeStats(connection, { nodeName: seeded.nodeName, diskPath: '/' });
  await publish();
  heartbeat = setInterval(() => void publish(), 5_000);

  // A backup job that fails for real on the queue (the repository unreachable), its timeline event beside it.
  const failed = once(worker, 'failed');
  const job = await queue.add(SERVER_BACKUP_JOB, { serverId: overdue.id, backupId: '00000000-0000-7000-8000-000000000001' }, { jobId: `backup.${randomBytes(6).toString('hex')}` });
  await failed;
  seeded.jobId = job.id ?? '';
  await prisma.provisioningEvent.create({
    data: { serverId: overdue.id, step: SERVER_BACKUP_JOB, status: 'failed', message: 'the backup repository cannot be reached', errorType: 'backup_repository_unavailable', willRetry: false, jobId: seeded.jobId },
  });
}

async function logIn(email: string): Promise<void> {
  await page.goto(`${api.url}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Your servers' }).waitFor({ timeout: WAIT });
}

/** Polls a section's text until it says what is expected: the console loads and refreshes by itself. */
const section = (name: string) => page.getByRole('region', { name, exact: true });
async function shows(name: string, ...patterns: RegExp[]): Promise<void> {
  for (const pattern of patterns) await expect.poll(() => section(name).innerText(), { timeout: WAIT }).toMatch(pattern);
}

beforeAll(async () => {
  execFileSync('bash', ['web/build.sh'], { stdio: 'ignore' });
  harness = await ProvisioningHarness.create(44_500);
  api = await startPlatformApi(harness);
  connection = new Redis(harness.redis.url, { maxRetriesPerRequest: null });
  workerConnection = connection.duplicate();
  queue = new Queue(PROVISIONING_QUEUE, { connection });
  const runs = new Map<string, number>();
  // Fails a job the first time it runs, as a backup meeting an unreachable repository would; a retry succeeds.
  worker = new Worker(
    PROVISIONING_QUEUE,
    (job: Job) => {
      const run = (runs.get(job.id ?? '') ?? 0) + 1;
      runs.set(job.id ?? '', run);
      return run === 1 ? Promise.reject(new Error('restic: repository not reachable')) : Promise.resolve('backed up');
    },
    { connection: workerConnection },
  );
  const operatorId = await signUp(operatorEmail);
  await harness.prisma.account.update({ where: { id: operatorId }, data: { role: 'operator' } });
  await seedPlatform(await signUp(customerEmail));
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('request', (request) => {
    if (new URL(request.url()).pathname.startsWith('/api/v1/operator')) operatorRequests.push(request.url());
  });
});

afterAll(async () => {
  clearInterval(heartbeat);
  await browser?.close();
  await api?.close();
  await worker?.close();
  await queue?.close();
  workerConnection?.disconnect();
  connection?.disconnect();
  await harness?.close();
});

// One browser session's journey, in order: the operator looks, retries, then logs out for a customer.
describe('the operator console', { shuffle: false }, () => {
  it('is in an operator\'s navigation, and each section shows what the platform holds', async () => {
    await logIn(operatorEmail);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Operator console' }).click();
    await page.getByRole('heading', { name: 'Operator console', level: 1 }).waitFor({ timeout: WAIT });

    await shows('Nodes', new RegExp(seeded.nodeName), /512 MiB committed of [\d.]+ GiB \(\d+%\); [\d.]+ GiB available now/, /[\d.]+ [GT]iB free of [\d.]+ [GT]iB \(\d+% used\)/, /Reported (just now|\d+ seconds? ago)/);
    await shows('Needs attention', new RegExp(seeded.overdue), new RegExp(customerEmail), /Server stopped unexpectedly container_stopped/, /Needs attention/, /5 tried, last failed: unknown/);
    await shows('Failed jobs', new RegExp(`server-backup\\s+${seeded.jobId.replaceAll('.', '\\.')} on provisioning`), /backup_repository_unavailable/, /restic: repository not reachable/);
    await shows('Certificates by expiry', new RegExp(`${seeded.overdue}[\\s\\S]*Expires soon[\\s\\S]*3 in a row[\\s\\S]*${seeded.onTime}`));
    await shows('Backups by age', new RegExp(`${seeded.overdue}\\s+2 days ago\\s+1 hour ago\\s+Backed up every 6 hours\\s+Overdue`), new RegExp(`${seeded.onTime}\\s+10 minutes ago\\s+None\\s+Backed up every 6 hours\\s+On time`));
    const budget = api.app.config.acmeOrderLimits;
    await shows('ACME budget', new RegExp(`2 of ${budget.perAcmeAccount} new certificate orders in the last 3 hours`), new RegExp(`up to ${budget.perCustomer} of them`));
    await shows('Queues', /provisioning\s+0\s+0\s+0\s+1/, /xmpp-users\s+0\s+0\s+0\s+0/);

    for (const audit of await auditPage(page, 'operator-console')) {
      expect(audit.violations, `operator console at ${audit.viewport} width`).toEqual([]);
      expect(audit.overflowPx, `operator console scrolls sideways at ${audit.viewport} width`).toBeLessThanOrEqual(0);
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    for (const [viewport, size] of Object.entries(VIEWPORTS)) {
      await page.setViewportSize(size);
      await page.screenshot({ path: join(ARTIFACTS, `console-${viewport}.png`), fullPage: true, animations: 'disabled' });
    }
    await page.setViewportSize(VIEWPORTS.desktop);
  });

  it('retries a failed job from the page: the answer is shown, the job leaves the list and runs again, and the retry is audited', async () => {
    await page.getByRole('button', { name: `Retry server-backup ${seeded.jobId}` }).click();
    await section('Failed jobs').getByRole('status').getByText(`Retried server-backup (${seeded.jobId}): it is back on the provisioning queue.`).waitFor({ timeout: WAIT });
    await page.getByRole('button', { name: `Retry server-backup ${seeded.jobId}` }).waitFor({ state: 'detached', timeout: WAIT });
    await shows('Failed jobs', /No failed jobs\./);
    await expect.poll(() => queue.getJobState(seeded.jobId), { timeout: WAIT }).toBe('completed');
    await shows('Queues', /provisioning\s+0\s+0\s+0\s+0/);
    const operator = await harness.prisma.account.findUniqueOrThrow({ where: { email: operatorEmail } });
    await expect.poll(() => harness.prisma.auditLog.count({ where: { action: 'job.retry', actorId: operator.id, actorKind: 'operator' } }), { timeout: WAIT }).toBe(1);
    // The page's CSP allows no inline style or script: nothing of the console may need one.
    expect(consoleErrors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
  });

  it('is not there for a customer: no link, and /operator is the not-found page without a request for operator data', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in to Parley' }).waitFor({ timeout: WAIT });
    operatorRequests.length = 0;
    await logIn(customerEmail);
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Activity' }).waitFor({ timeout: WAIT });
    expect(await nav.getByRole('link', { name: 'Operator console' }).count()).toBe(0);

    await page.goto(`${api.url}/operator`);
    await page.getByRole('heading', { name: 'Nothing here' }).waitFor({ timeout: WAIT });
    expect(await page.getByRole('heading', { name: 'Operator console' }).count()).toBe(0);
    expect(operatorRequests).toEqual([]);
  });
});
