import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import Docker from 'dockerode';
import type { Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { join } from 'node:path';
import { auditPage } from '../support/page-audit.js';
import { pebbleIssuers } from '../support/pebble.js';
import { startPlatformApi, type ListeningApi } from '../support/platform-api.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { testEnv } from '../support/test-env.js';
import { tearDownAll } from '../support/tear-down.js';
import { connectAs, nextMessage, sendMessage, sendPresence } from '../support/xmpp.js';
import { DockerContainerRuntime } from '../../worker/src/adapters/docker.container-runtime.js';
import { takeAccountCensus } from '../../worker/src/xmpp-users/account-census.js';
import { TestMailbox, linkIn } from '../support/test-mailbox.js';
import { until } from '../support/until.js';
import { base32Decode, timeStep, totpCode } from '../../api/src/auth/totp.js';

// The customer's whole journey through the built dashboard, in Debian's Chromium, against the real
// API and worker on the sandbox (Postgres, Redis, Docker, PowerDNS, Pebble). Each `it` continues
// where the previous one stopped, as one person clicking through would.

const WAIT = { short: 15_000, provisioning: 150_000 };
/** The deletion grace period of this file's worker, so the deletion can be undone here. */
const GRACE_MS = 7 * 86_400_000;

let harness: ProvisioningHarness;
/** This file's own restic repository, so its backups never mix with the sandbox's. */
let backupDir: string;
let api: ListeningApi;
let mailbox: TestMailbox;
let browser: TestBrowser;
let page: Page;
let serverId: string;
let domain: string;
let starttlsPort: number;
/** The admin password the server has now. */
let adminPassword: string;
/** An account made before the deletion: it must log in with the same password once the server is brought back. */
const bob = { username: 'bob', password: '' };
const consoleErrors: string[] = [];
const label = `w${randomBytes(4).toString('hex')}`;
const email = `${label}@example.com`;

async function expectAccessibleEverywhere(name: string): Promise<void> {
  for (const audit of await auditPage(page, name)) {
    expect(audit.violations, `${name} at ${audit.viewport} width`).toEqual([]);
    expect(audit.overflowPx, `${name} scrolls sideways at ${audit.viewport} width`).toBeLessThanOrEqual(0);
  }
}

/** The text of the code element of a copyable value, found by its copy button's name. */
const copyableValue = (name: string) =>
  page.locator('.copyable', { has: page.getByRole('button', { name: `Copy ${name}`, exact: true }) }).locator('code').innerText();

/** Polls until the element is shown: the page renders as its queries answer, never all at once. */
const expectVisible = (locator: Locator) => expect.poll(() => locator.isVisible(), { timeout: WAIT.short }).toBe(true);

const XMPP_TRUST = async () => [(await pebbleIssuers()).root.toString()];

/** The text of what an element's aria-describedby points at: what a screen reader says with it. */
async function describedBy(element: Locator): Promise<string> {
  const ids = (await element.getAttribute('aria-describedby'))?.split(/\s+/) ?? [];
  const texts = await Promise.all(ids.map((id) => page.locator(`[id="${id}"]`).innerText()));
  return texts.join(' ');
}

const accountId = async () => (await harness.prisma.account.findUniqueOrThrow({ where: { email } })).id;

const docker = () => new Docker({ socketPath: testEnv().DOCKER_SOCKET });
/** The server's containers, found by their label. */
const serverContainers = (id: string) => docker().listContainers({ all: true, filters: { label: [`parley.server=${id}`] } });

/** The Docker state of the server's container ("running", "exited", ...). */
async function containerState(id: string): Promise<string | undefined> {
  const [container] = await serverContainers(id);
  return container?.State;
}

/** Removes the server's container out from under Parley, as if it were lost. */
async function removeContainer(id: string): Promise<void> {
  for (const c of await serverContainers(id)) await docker().getContainer(c.Id).remove({ force: true });
}

/** Kills the server's container behind Parley's back, as a crash would. */
async function killContainer(id: string): Promise<void> {
  for (const c of await serverContainers(id)) await docker().getContainer(c.Id).kill();
}

/** Bounded: the worker records the reset on the timeline once Prosody has the new password. */
async function waitForAdminReset(id: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await harness.prisma.provisioningEvent.findFirst({ where: { serverId: id, step: 'admin_reset', status: { in: ['succeeded', 'failed'] } } }))) {
    if (Date.now() > deadline) throw new Error(`the admin password reset was not applied within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const xmppLogin = async (username: string, password: string) =>
  connectAs({ host: '127.0.0.1', port: starttlsPort, domain, username, password, trustedCaPems: await XMPP_TRUST(), timeoutMs: 15_000 });
const adminLogin = (password: string) => xmppLogin('admin', password);

/** A date and time as the dashboard writes it, formatted in the browser (its locale and time zone). */
const inBrowser = (at: Date) =>
  page.evaluate((iso) => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso)), at.toISOString());

beforeAll(async () => {
  execFileSync('bash', ['web/build.sh'], { stdio: 'ignore' });
  backupDir = await mkdtemp(join(tmpdir(), 'parley-dashboard-backups-'));
  harness = await ProvisioningHarness.create(41_000, {
    // Compliance checks as in production: they run once a server is ready, and the page shows them.
    configure: (config) => ({ ...config, backups: { ...config.backups, repository: join(backupDir, 'repository'), deletionGraceMs: GRACE_MS }, jobs: { ...config.jobs, complianceAfterReady: true } }),
  });
  await harness.startWorker();
  mailbox = await TestMailbox.start();
  api = await startPlatformApi(harness, { mailbox });
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
});

// What CI's output cannot show otherwise: the server as the worker left it when a step failed.
afterEach(async (context) => {
  if (context.task.result?.state !== 'fail' || !serverId) return;
  const events = await harness.prisma.provisioningEvent.findMany({ where: { serverId }, orderBy: { id: 'desc' }, take: 30 });
  const server = await harness.prisma.server.findUnique({ where: { id: serverId }, select: { state: true, desiredState: true, health: true, healthIssue: true } });
  const incidents = await harness.prisma.incident.findMany({ where: { serverId }, select: { kind: true, status: true, repairAttempts: true, lastError: true } });
  console.error('server after the failure:', JSON.stringify({ server, incidents, timeline: events.reverse().map((e) => [e.createdAt.toISOString(), e.step, e.status, e.message]) }));
});

afterAll(async () => {
  await tearDownAll([
    async () => browser?.close(),
    async () => api?.close(),
    async () => mailbox?.close(),
    // The journey deletes its server; if it stopped before that, deletion is asked for here (a no-op when done).
    async () => {
      if (!serverId) return;
      await harness.deprovision(serverId);
      await harness.waitForState(serverId, 'deleted', 60_000);
    },
    async () => harness?.close(),
    async () => backupDir && rm(backupDir, { recursive: true, force: true }),
  ]);
});

// One customer's journey through one browser session, in order: each step starts on the page the one before left.
describe('the customer dashboard', { shuffle: false }, () => {
  it('refuses a weak password next to the field, then signs up', async () => {
    await page.goto(`${api.url}/`);
    await page.getByRole('heading', { name: 'Log in to Parley' }).waitFor({ timeout: WAIT.short });
    await expectAccessibleEverywhere('log-in');

    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    const password = page.getByLabel('Password');
    await page.locator('.field-error').first().waitFor({ timeout: WAIT.short });
    expect(await password.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('.field-error').first().innerText()).toMatch(/12 characters/);
    await expectAccessibleEverywhere('sign-up-error');

    await password.fill('violet staple orbit lantern');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Your servers' }).waitFor({ timeout: WAIT.short });
    await page.getByText('You have no servers yet').waitFor({ timeout: WAIT.short });
    await expectAccessibleEverywhere('servers-empty');
  });

  it('refuses a bad domain and one inside the platform zone beside the field, in plain words, creating nothing', async () => {
    await page.getByRole('link', { name: 'Domains' }).click();
    const field = page.getByLabel('Domain');
    const refusals: [string, RegExp][] = [
      ['not a domain', /only letters a-z, digits, hyphens and dots/],
      [`chat.${label}.parley.test`, new RegExp(`chat\\.${label}\\.parley\\.test is inside parley\\.test, which Parley runs itself: order a server with that name instead, or add a domain you own\\.`)],
    ];
    for (const [input, reason] of refusals) {
      await field.fill(input);
      await page.getByRole('button', { name: 'Add domain' }).click();
      await page.locator('.field-error', { hasText: reason }).waitFor({ timeout: WAIT.short });
      expect(await field.getAttribute('aria-invalid')).toBe('true');
      expect(await describedBy(field)).toMatch(reason);
      expect(await page.locator('.field-error').innerText()).not.toContain('/api/v1');
    }
    await expectAccessibleEverywhere('domain-error');
    expect(await harness.prisma.domain.count({ where: { accountId: await accountId() } })).toBe(0);
  });

  it('adds a domain, lists its records to copy and shows each one\'s status after a real lookup', async () => {
    const ownDomain = `${label}.example`;
    await page.getByLabel('Domain').fill(ownDomain);
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.getByRole('heading', { name: ownDomain }).waitFor({ timeout: WAIT.short });
    expect(await page.getByRole('button', { name: /^Copy .* record name/ }).count()).toBeGreaterThan(1);
    expect(await page.getByText('Not checked yet').count()).toBeGreaterThan(1);

    await page.getByRole('button', { name: 'Verify now' }).click();
    // Nobody created the records, so the sandbox resolver finds none of them.
    await page.getByText('Not right yet').first().waitFor({ timeout: WAIT.short });
    expect(await page.getByText('Found', { exact: true }).count()).toBe(0);
    await expectAccessibleEverywhere('domain');
  });

  it('orders a server and says what will happen', async () => {
    await page.getByRole('link', { name: 'Servers' }).click();
    await page.getByRole('link', { name: 'Order a server' }).click();
    await page.getByLabel('Name').fill(label);
    await page.getByText('Talk to other XMPP servers').click();
    await page.getByRole('radio', { name: /Personal/ }).check();
    const summary = page.getByRole('region', { name: 'What happens next' });
    expect(await summary.innerText()).toContain(`${label}.parley.test`);
    await expectAccessibleEverywhere('order');

    await page.getByRole('button', { name: 'Order server' }).click();
    await page.waitForURL(/\/servers\/[0-9a-f-]{36}$/, { timeout: WAIT.short });
    serverId = new URL(page.url()).pathname.split('/').at(-1) ?? '';
    domain = `${label}.parley.test`;
    await page.getByRole('heading', { name: `Setting up ${domain}` }).waitFor({ timeout: WAIT.short });
    // A step reported done by the live stream (attached: once ready, the steps fold away).
    await page.locator('.step-done').first().waitFor({ state: 'attached', timeout: WAIT.provisioning });
    await expectAccessibleEverywhere('progress');
  });

  it('shows every provisioning step live until the server is ready', async () => {
    await page.getByRole('heading', { name: 'Connection' }).waitFor({ timeout: WAIT.provisioning });
    // The steps fold away once ready; each one is recorded as done.
    expect(await page.locator('.steps li').count()).toBe(7);
    expect(await page.locator('.steps li.step-done').count()).toBe(7);
    expect(await page.getByText('Your server is ready.').count()).toBe(1);
    expect(await page.locator('.facts').first().innerText()).toMatch(/Valid until/);
  });

  it('reveals the admin password once, and a real XMPP client logs in with what the page shows', async () => {
    await page.getByRole('button', { name: 'Reveal admin password' }).click();
    const jid = await copyableValue('admin address');
    const password = await copyableValue('admin password');
    adminPassword = password;
    const portText = await page.locator('.facts li').first().innerText();
    starttlsPort = Number(/^(\d+)/.exec(portText)?.[1]);
    await expectAccessibleEverywhere('server-ready');

    expect(jid).toBe(`admin@${domain}`);
    const session = await adminLogin(password);
    expect(session.jid.startsWith(`${jid}/`)).toBe(true);
    await session.close();

    await page.reload();
    await page.getByRole('button', { name: 'Reveal admin password' }).click();
    const refusal = page.getByRole('alert');
    await refusal.waitFor({ timeout: WAIT.short });
    expect(await refusal.innerText()).toMatch(/Already revealed.*shown once already/s);
    expect(await refusal.innerText()).not.toContain('/api/v1');
  });

  it('prints a welcome kit naming the apps and what they support', async () => {
    await page.getByRole('link', { name: 'Open the printable welcome kit' }).click();
    await page.getByRole('heading', { name: `Welcome to ${domain}` }).waitFor({ timeout: WAIT.short });
    const kit = await page.locator('main').innerText();
    for (const app of ['Conversations', 'Monocles', 'Monal', 'Siskin', 'Gajim', 'Dino']) expect(kit).toContain(app);
    expect(kit).toContain('OMEMO');
    await expectAccessibleEverywhere('welcome-kit');
    await page.goBack();
  });

  it('adds a user whose revealed password logs in, and an invite with a link and QR code', async () => {
    await page.getByRole('link', { name: 'Users and invites' }).click();
    await page.getByLabel('New user').fill('alice');
    await page.getByRole('button', { name: 'Add user' }).click();
    const reveal = page.getByRole('button', { name: `Reveal password of alice@${domain}` });
    await reveal.waitFor({ timeout: WAIT.short });
    await reveal.click();
    const password = await copyableValue(`password of alice@${domain}`);
    const session = await connectAs({
      host: '127.0.0.1',
      port: starttlsPort,
      domain,
      username: 'alice',
      password,
      trustedCaPems: await XMPP_TRUST(),
      timeoutMs: 15_000,
    });
    expect(session.jid.startsWith(`alice@${domain}/`)).toBe(true);
    await session.close();

    await page.getByRole('button', { name: 'Create invite' }).click();
    const show = page.getByRole('button', { name: 'Show link and QR code' });
    await show.waitFor({ timeout: WAIT.short });
    await show.click();
    const link = await copyableValue('invite link');
    expect(link).toMatch(new RegExp(`^xmpp:${domain.replaceAll('.', '\\.')}\\?register;preauth=`));
    await expectVisible(page.getByRole('img', { name: 'QR code of the invite link' }));
    await expectVisible(page.getByText(/Expires in (7 days|1 week|168 hours)/));
    await expectAccessibleEverywhere('users-and-invites');

    await page.getByRole('button', { name: `Delete alice@${domain}` }).click();
    await page.getByText(`alice@${domain}`).waitFor({ state: 'detached', timeout: WAIT.short });
  });

  it("shows the server's usage as the worker counted it: who is registered and online, today's messages, and charts", async () => {
    await page.getByRole('link', { name: 'Users and invites' }).click();
    await page.getByLabel('New user').fill('dave');
    await page.getByRole('button', { name: 'Add user' }).click();
    const reveal = page.getByRole('button', { name: `Reveal password of dave@${domain}` });
    await reveal.waitFor({ timeout: WAIT.short });
    await reveal.click();
    const dave = await xmppLogin('dave', await copyableValue(`password of dave@${domain}`));
    const admin = await adminLogin(adminPassword);
    try {
      // Available, so messages to the bare address reach the session.
      await Promise.all([sendPresence(dave), sendPresence(admin)]);
      for (let n = 0; n < 3; n++) {
        await sendMessage(dave, `admin@${domain}`, `usage ${n}`);
        await nextMessage(admin, WAIT.short);
      }
      // The worker's census, as its schedule runs it: dave is online while it counts.
      await takeAccountCensus({ prisma: harness.prisma, containers: new DockerContainerRuntime(docker()), settings: harness.config.jobs }, new Date());
    } finally {
      await Promise.allSettled([dave.close(), admin.close()]);
    }

    await page.getByRole('link', { name: 'Usage' }).click();
    const plan = await harness.prisma.plan.findFirstOrThrow({ where: { accounts: { some: { email } } } });
    const figure = (term: string) => page.locator('.figures div', { has: page.getByText(term, { exact: true }) }).locator('dd');
    await expect.poll(() => figure('Users').innerText(), { timeout: WAIT.short }).toContain(`1 of ${plan.maxUsersPerServer}`);
    await expect.poll(() => figure('Online now').innerText(), { timeout: WAIT.short }).toBe('1 user');
    // The admin's messages count too; the compliance checks' do not.
    await expect.poll(() => figure('Messages today').innerText(), { timeout: WAIT.short }).toBe('3');
    await expect.poll(() => page.locator('.chart-plot canvas').count(), { timeout: WAIT.short }).toBe(3);
    await expect.poll(() => page.getByRole('img', { name: /^Messages per day over the last 7 days: 3 in all, 3 today/ }).count(), { timeout: WAIT.short }).toBe(1);
    await page.getByRole('button', { name: '30 days' }).click();
    await expect.poll(() => page.getByRole('img', { name: /^Users over the last 30 days: 1 registered now, at most 1 online at once/ }).count(), { timeout: WAIT.short }).toBe(1);
    expect(await page.getByRole('button', { name: '30 days' }).getAttribute('aria-pressed')).toBe('true');
    await expectAccessibleEverywhere('usage');

    await page.getByRole('link', { name: 'Users and invites' }).click();
    await page.getByRole('button', { name: `Delete dave@${domain}` }).click();
    await page.getByText(`dave@${domain}`).waitFor({ state: 'detached', timeout: WAIT.short });
  });

  it('refuses a second server of the same name next to the name field', async () => {
    await page.goto(`${api.url}/servers/new`);
    await page.getByLabel('Name').fill(label);
    await page.getByRole('button', { name: 'Order server' }).click();
    await page.locator('.field-error').waitFor({ timeout: WAIT.short });
    expect(await page.getByLabel('Name').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('.field-error').innerText()).toMatch(/taken/);
    await expectAccessibleEverywhere('order-error');
  });

  it('refuses an order over the plan\'s server quota beside the order button, adding no server', async () => {
    const account = await accountId();
    const personal = await harness.prisma.account.findUniqueOrThrow({ where: { id: account }, select: { planId: true } });
    const solo = await harness.prisma.plan.create({
      data: { code: `solo-${label}`, name: 'Solo', maxServers: 1, maxUsersPerServer: 5, storageMiB: 256, memoryMiB: 128, cpuMillis: 250, pidsLimit: 32 },
    });
    await harness.prisma.account.update({ where: { id: account }, data: { planId: solo.id } });
    try {
      await page.goto(`${api.url}/servers/new`);
      await page.getByLabel('Name').fill(`${label}-two`);
      const order = page.getByRole('button', { name: 'Order server' });
      await order.click();
      const refusal = page.getByRole('alert');
      await refusal.waitFor({ timeout: WAIT.short });
      const words = /Server quota reached\. Your Solo plan allows 1 server and you have 1\. Delete one or move to a bigger plan\./;
      expect(await refusal.innerText()).toMatch(words);
      expect(await describedBy(order)).toMatch(words);
      await expectVisible(page.getByText('1 server per account'));
      await expectAccessibleEverywhere('order-quota');
      expect(await harness.prisma.server.count({ where: { accountId: account } })).toBe(1);
    } finally {
      await harness.prisma.account.update({ where: { id: account }, data: { planId: personal.planId } });
      await harness.prisma.plan.delete({ where: { id: solo.id } });
    }
  });

  it('stops and starts the server from Manage, and its container follows', async () => {
    await page.goto(`${api.url}/servers/${serverId}/manage`);
    const badge = page.locator('.page-head .badge');
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await badge.getByText('Stopped', { exact: true }).waitFor({ timeout: 60_000 });
    expect(await page.getByRole('status').innerText()).toMatch(/Stopped\. Start it again/);
    expect(await containerState(serverId)).toBe('exited');
    await page.getByRole('region', { name: 'Audit log', exact: true }).getByText('Stopped a server').waitFor({ timeout: WAIT.short });
    await expectAccessibleEverywhere('server-stopped');

    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await badge.getByText('Ready', { exact: true }).waitFor({ timeout: 60_000 });
    expect(await page.getByRole('status').innerText()).toMatch(/Running again/);
    expect(await containerState(serverId)).toBe('running');
  });

  it('sets the contact addresses from Manage (a bad one refused beside its field, a good one saved, audited and applied) and replaces the calls secret', async () => {
    await page.goto(`${api.url}/servers/${serverId}/manage`);
    const section = page.getByRole('region', { name: 'Contact addresses', exact: true });
    const abuse = section.getByLabel('Abuse', { exact: true });
    await abuse.fill('javascript:alert(1)');
    await section.getByRole('button', { name: 'Save contact addresses' }).click();
    await expect.poll(() => describedBy(abuse), { timeout: WAIT.short }).toMatch(/xmpp:user@domain, mailto:name@domain or an https:\/\/ web address/);
    expect((await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } })).contactsRevision).toBe(0);

    await abuse.fill('mailto:abuse@example.com');
    await section.getByLabel('Support', { exact: true }).fill('https://example.com/help');
    await section.getByRole('button', { name: 'Save contact addresses' }).click();
    await section.getByRole('status').getByText(/Saved/).waitFor({ timeout: WAIT.short });
    await page.getByRole('region', { name: 'Audit log', exact: true }).getByText('Changed a server’s contact addresses').waitFor({ timeout: WAIT.short });
    await expect
      .poll(async () => (await harness.prisma.provisioningEvent.count({ where: { serverId, step: 'reconfigure', status: 'succeeded' } })) > 0, { timeout: 60_000 })
      .toBe(true);
    await page.getByRole('region', { name: 'Calls', exact: true }).getByRole('button', { name: 'Replace the calls secret' }).click();
    await page.getByRole('region', { name: 'Audit log', exact: true }).getByText('Replaced a server’s calls secret').waitFor({ timeout: WAIT.short });
    await expect
      .poll(async () => (await harness.prisma.provisioningEvent.count({ where: { serverId, step: 'turn_rotation', status: 'succeeded' } })) > 0, { timeout: 60_000 })
      .toBe(true);
    await page.goto(`${api.url}/servers/${serverId}`);
    expect(await page.getByRole('region', { name: 'Connection', exact: true }).innerText()).toMatch(/Calls\s+On: audio and video calls go through Parley's relay/);
    // The badge is the stored results of the checks the worker ran with a real client.
    await expect.poll(() => harness.prisma.provisioningEvent.count({ where: { serverId, step: 'compliance' } }), { timeout: 120_000 }).toBeGreaterThan(0);
    const results = await harness.prisma.complianceResult.findMany({ where: { serverId } });
    expect(results.length).toBeGreaterThan(0);
    const badge = `${results.filter((r) => r.passed).length} of ${results.length} checks pass`;
    await page.getByRole('region', { name: /XMPP compliance/ }).getByText(badge, { exact: true }).waitFor({ timeout: WAIT.short });
    await expectAccessibleEverywhere('server-contacts');
  }, 300_000);

  it('resets the admin password: the new one is revealed once and logs in, the old one is refused', async () => {
    await page.goto(`${api.url}/servers/${serverId}`);
    await page.getByRole('button', { name: 'Reset admin password' }).click();
    await page.getByText('A new password is being set').waitFor({ timeout: WAIT.short });
    await waitForAdminReset(serverId, 30_000);
    await page.getByRole('button', { name: 'Reveal admin password' }).click();
    const password = await copyableValue('admin password');
    expect(password).not.toBe(adminPassword);
    await expectAccessibleEverywhere('admin-reset');

    const session = await adminLogin(password);
    expect(session.jid.startsWith(`admin@${domain}/`)).toBe(true);
    await session.close();
    await expect(adminLogin(adminPassword)).rejects.toThrow(/not-authorized|auth/i);
    adminPassword = password;
  });

  it('shows a container killed behind Parley\'s back as down, in plain words, then ready again, without a reload', async () => {
    const badge = page.locator('.page-head .badge');
    await badge.getByText('Ready', { exact: true }).waitFor({ timeout: WAIT.short });
    // Gone after a reload: its presence at the end proves the page updated by itself.
    await page.evaluate('window.sameDocument = true');
    await killContainer(serverId);

    await badge.getByText('Down', { exact: true }).waitFor({ timeout: WAIT.short });
    await page.getByText('Your server stopped unexpectedly; Parley is restarting it.').waitFor({ timeout: WAIT.short });
    // At once, not through the full audit: Parley repairs a killed server within seconds.
    await page.screenshot({ path: join(import.meta.dirname, '..', 'artifacts', 'dashboard', 'server-incident-desktop.png'), fullPage: true, animations: 'disabled' });

    await badge.getByText('Ready', { exact: true }).waitFor({ timeout: 60_000 });
    const incidents = page.getByRole('region', { name: 'Incidents', exact: true });
    await incidents.getByText('Server stopped unexpectedly').waitFor({ timeout: WAIT.short });
    expect(await incidents.innerText()).toMatch(/Nothing is wrong right now\..*lasted \d/s);
    await expectVisible(page.getByText(/^Healthy\. Checked /));
    expect(await page.evaluate('window.sameDocument')).toBe(true);
    expect(await containerState(serverId)).toBe('running');
    await expectAccessibleEverywhere('server-recovered');
  });

  it('backs the server up from Manage, then restores that backup once confirmed: restoring, then ready again with the data of the backup', async () => {
    await page.goto(`${api.url}/servers/${serverId}/manage`);
    const badge = page.locator('.page-head .badge');
    const section = page.getByRole('region', { name: 'Backups', exact: true });
    await section.getByText(/^Backed up every day; keeps the last 1, 7 daily and 4 weekly\. Next backup: .+ \((in \d+ hours|tomorrow)\)\.$/).waitFor({ timeout: WAIT.short });
    await section.getByText('No backups yet.').waitFor({ timeout: WAIT.short });

    await section.getByRole('button', { name: 'Back up now' }).click();
    const rows = section.locator('tbody tr');
    // The list follows the worker by itself: queued, running, then done.
    await rows.first().getByText('Done', { exact: true }).waitFor({ timeout: 90_000 });
    expect(await rows.count()).toBe(1);
    expect(await rows.first().locator('td[data-label="Kind"]').innerText()).toBe('On request');
    expect(await rows.first().locator('td[data-label="Size"]').innerText()).toMatch(/^\d+(\.\d)? (bytes|KiB|MiB|GiB)$/);
    const [taken] = await harness.prisma.serverBackup.findMany({ where: { serverId } });
    expect(taken).toMatchObject({ kind: 'on_demand', status: 'succeeded' });
    expect(Number(taken?.sizeBytes)).toBeGreaterThan(0);
    await expectAccessibleEverywhere('backups');

    await section.getByRole('button', { name: /^Restore the backup of / }).click();
    await section.getByText('Replaces the server’s data with this backup’s. Parley first keeps a safety backup of the data as it is now, so you can undo this.').waitFor({ timeout: WAIT.short });
    await expectAccessibleEverywhere('backup-restore-confirm');
    await section.getByRole('button', { name: /^Yes, restore the backup of / }).click();
    await badge.getByText('Restoring', { exact: true }).waitFor({ timeout: WAIT.short });
    await badge.getByText('Ready', { exact: true }).waitFor({ timeout: 90_000 });
    // Said once the restore's success is on the server's timeline, which the page reads.
    await section.getByRole('status').getByText(/^Restored: the server has the backup’s data again\./).waitFor({ timeout: WAIT.short });
    await rows.filter({ hasText: 'Safety backup before a restore' }).getByText('Done', { exact: true }).waitFor({ timeout: WAIT.short });
    expect(await rows.count()).toBe(2);
    expect(await section.getByRole('button', { name: /^Restore the backup of / }).count()).toBe(2);
    await expectAccessibleEverywhere('backup-restored');

    // Restores succeed at their first attempt: one start, one success, no failure on the timeline.
    const attempts = await harness.prisma.provisioningEvent.groupBy({ by: ['status'], where: { serverId, step: 'restore', status: { in: ['started', 'succeeded', 'failed'] } }, _count: true });
    expect(Object.fromEntries(attempts.map((a) => [a.status, a._count]))).toEqual({ started: 1, succeeded: 1 });
    await page.getByRole('region', { name: 'Audit log', exact: true }).getByText('Restored a server from a backup').waitFor({ timeout: WAIT.short });
    // The backup was taken after the password reset: the restored server still knows that password.
    const session = await adminLogin(adminPassword);
    expect(session.jid.startsWith(`admin@${domain}/`)).toBe(true);
    await session.close();
  }, 240_000);

  it('opens the order form from a finished backup\'s "Clone into a new server", saying whose data the server would start with (no order placed)', async () => {
    await page.goto(`${api.url}/servers/${serverId}/manage`);
    const row = page.getByRole('region', { name: 'Backups', exact: true }).locator('tbody tr').filter({ hasText: 'On request' });
    await row.getByRole('link', { name: /^Clone into a new server from the backup of .+, on request$/ }).click();
    const backup = await harness.prisma.serverBackup.findFirstOrThrow({ where: { serverId, kind: 'on_demand' } });
    await page.waitForURL(`${api.url}/servers/new?cloneFrom=${backup.id}&server=${serverId}`, { timeout: WAIT.short });
    const notice = page.getByText(/^A clone of .+ as it was at .+: its users, passwords, contacts, archives and group chats, under the new name\.$/);
    await notice.waitFor({ timeout: WAIT.short });
    expect(await notice.innerText()).toMatch(new RegExp(`^A clone of ${label} as it was at `));
    // One or the other: no file to import is offered beside a clone.
    expect(await page.getByLabel('Import a XEP-0227 file (optional)').count()).toBe(0);
    await page.getByRole('region', { name: 'What happens next' }).getByText('then starts your XMPP server as a clone of the backup above').waitFor({ timeout: WAIT.short });
    await expectAccessibleEverywhere('order-clone');

    await page.getByRole('button', { name: 'Order an empty server instead' }).click();
    await page.getByLabel('Import a XEP-0227 file (optional)').waitFor({ timeout: WAIT.short });
    expect(await notice.count()).toBe(0);
    expect(new URL(page.url()).search).toBe('');
  });

  it('exports the users from Manage: the list follows the worker, and the download is the XEP-0227 file of this server', async () => {
    // A user besides Parley's admin account, which an export leaves out, and applied on the server before the export reads it.
    await page.goto(`${api.url}/servers/${serverId}/users`);
    await page.getByLabel('New user').fill('carol');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.getByRole('button', { name: `Reveal password of carol@${domain}` }).waitFor({ timeout: WAIT.short });
    await until('carol applied on the server', () => harness.prisma.xmppUser.findFirst({ where: { serverId, localpart: 'carol', state: 'active' } }), WAIT.short);

    await page.goto(`${api.url}/servers/${serverId}/manage`);
    const section = page.getByRole('region', { name: 'Export users', exact: true });
    await section.getByText('No exports yet.').waitFor({ timeout: WAIT.short });
    expect(await section.innerText()).toMatch(/XEP-0227 format .* accounts with their passwords, contacts, profiles, PEP data .* and message archives, but not group chats; it is for moving them to another provider/s);
    await section.getByRole('button', { name: 'Export users', exact: true }).click();
    const rows = section.locator('tbody tr');
    // The list follows the worker by itself: waiting, exporting, then ready.
    await rows.first().getByText('Ready to download', { exact: true }).waitFor({ timeout: 90_000 });
    expect(await rows.count()).toBe(1);
    expect(await rows.first().locator('td[data-label="Users"]').innerText()).toBe('1 user');
    expect(await rows.first().locator('td[data-label="Size"]').innerText()).toMatch(/^\d+(\.\d)? (bytes|KiB|MiB)$/);
    expect(await rows.first().locator('td[data-label="Download until"]').innerText()).toMatch(/\(in 7 days\)$/);
    await expectAccessibleEverywhere('exports');

    // A plain link: the browser sends the session cookie itself, and saves the API's attachment.
    const [download] = await Promise.all([page.waitForEvent('download'), section.getByRole('link', { name: /^Download the export of / }).click()]);
    expect(await download.failure()).toBeNull();
    expect(download.suggestedFilename()).toMatch(new RegExp(`^${domain.replaceAll('.', '\\.')}-\\d{4}-\\d{2}-\\d{2}\\.xml$`));
    const document = await readFile(await download.path(), 'utf8');
    expect(document).toMatch(/<server-data xmlns=["']urn:xmpp:pie:0["']>/);
    expect(document).toMatch(new RegExp(`<host jid=["']${domain.replaceAll('.', '\\.')}["']>`));
    expect(document).toMatch(/<user name=["']carol["']/);
    expect(document).not.toMatch(/<user name=["']admin["']/);
    await page.getByRole('region', { name: 'Audit log', exact: true }).getByText('Exported a server’s users').waitFor({ timeout: WAIT.short });
  }, 180_000);

  it('refuses a file to import that is not a XEP-0227 export beside the file field, in the API\'s words, ordering nothing', async () => {
    const account = await accountId();
    await page.goto(`${api.url}/servers/new`);
    await page.getByLabel('Name').fill(`${label}-moved`);
    const file = page.getByLabel('Import a XEP-0227 file (optional)');
    await file.setInputFiles({ name: 'old-server.xml', mimeType: 'application/xml', buffer: Buffer.from('<roster/>') });
    await page.getByRole('region', { name: 'What happens next' }).getByText('then starts your XMPP server with the users of your file.').waitFor({ timeout: WAIT.short });
    await page.getByRole('button', { name: 'Order server' }).click();
    const refusal = page.getByRole('alert');
    await refusal.waitFor({ timeout: WAIT.short });
    const words = /Not an importable file\. The file is XML but not a XEP-0227 export: its root element must be <server-data xmlns='urn:xmpp:pie:0'>\./;
    expect(await refusal.innerText()).toMatch(words);
    expect(await file.getAttribute('aria-invalid')).toBe('true');
    expect(await describedBy(file)).toMatch(words);
    await expectAccessibleEverywhere('order-import-refused');
    expect(await harness.prisma.serverImport.count({ where: { accountId: account } })).toBe(0);
    expect(await harness.prisma.server.count({ where: { accountId: account } })).toBe(1);
  });

  it('deletes the server once its name is typed, saying what Parley keeps: it is listed under Deleted servers until its grace period ends', async () => {
    // An account from before the deletion, with a password the test knows.
    await page.goto(`${api.url}/servers/${serverId}/users`);
    await page.getByLabel('New user').fill(bob.username);
    await page.getByRole('button', { name: 'Add user' }).click();
    const reveal = page.getByRole('button', { name: `Reveal password of bob@${domain}` });
    await reveal.waitFor({ timeout: WAIT.short });
    await reveal.click();
    bob.password = await copyableValue(`password of bob@${domain}`);
    await (await xmppLogin(bob.username, bob.password)).close();

    await page.getByRole('link', { name: 'Manage', exact: true }).click();
    const danger = page.getByRole('region', { name: 'Delete this server', exact: true });
    await danger.waitFor({ timeout: WAIT.short });
    const words = await danger.innerText();
    expect(words).toContain('Deletes every account, message archive and file from the running server, its DNS records and its certificate.');
    expect(words).toContain('Parley keeps a final backup of its data for a grace period, shown under Deleted servers on your servers page. Until it ends you can undo the deletion there');
    expect(words).not.toMatch(/cannot be undone/i);
    await page.getByLabel(/Type the server’s name/).fill(label);
    await danger.getByRole('button', { name: 'Delete server' }).click();
    await page.getByRole('heading', { name: 'Your servers' }).waitFor({ timeout: WAIT.short });
    await harness.waitForState(serverId, 'deleted', 120_000);

    const gone = await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } });
    const final = await harness.prisma.serverBackup.findUniqueOrThrow({ where: { id: gone.finalBackupId ?? '' } });
    expect(final).toMatchObject({ kind: 'final', status: 'succeeded' });
    const until = gone.purgeAfter ?? new Date(0);
    expect(Math.abs(until.getTime() - Date.now() - GRACE_MS)).toBeLessThan(180_000);

    // The page follows the worker by itself: the server leaves the list and joins Deleted servers.
    const deleted = page.getByRole('region', { name: 'Deleted servers', exact: true });
    const row = deleted.getByRole('listitem').filter({ hasText: domain });
    await row.waitFor({ timeout: WAIT.short });
    await page.getByText('You have no servers yet').waitFor({ timeout: WAIT.short });
    const rowText = await row.innerText();
    expect(rowText).toContain(`Name ${label} · deleted ${await inBrowser(gone.deletedAt ?? new Date(0))}`);
    expect(rowText).toContain(`Can be brought back until ${await inBrowser(until)}.`);
    await expectAccessibleEverywhere('deleted-servers');
  }, 180_000);

  it('brings the deleted server back once confirmed (a refusal said beside the button): its page shows the steps live until ready, with its accounts from before and a new admin password', async () => {
    const deleted = page.getByRole('region', { name: 'Deleted servers', exact: true });
    const row = deleted.getByRole('listitem').filter({ hasText: domain });
    // Refused first, the name given to another account's server meanwhile (an order written, not
    // provisioned): the API's words beside the button, nothing changed.
    const taker = await harness.placeOrder({ label });
    try {
      await row.getByRole('button', { name: `Bring back ${domain}` }).click();
      await row.getByRole('button', { name: `Yes, bring back ${domain}` }).click();
      const refusal = `Name taken. ${domain} has been given to another server since this one was deleted, so this one cannot come back under it.`;
      await row.getByRole('alert').getByText(refusal, { exact: true }).waitFor({ timeout: WAIT.short });
      await expectAccessibleEverywhere('deleted-server-refused');
      expect((await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } })).state).toBe('deleted');
    } finally {
      const { accountId: takerAccount } = await harness.prisma.server.delete({ where: { id: taker.serverId } });
      await harness.prisma.account.delete({ where: { id: takerAccount } });
    }

    await row.getByRole('button', { name: `Bring back ${domain}` }).click();
    await row.getByText('It is set up again with its data as it was when it was deleted, and a new admin password to reveal on its page.').waitFor({ timeout: WAIT.short });
    await expectAccessibleEverywhere('deleted-server-confirm');
    // Gone after a reload: its presence once the server is ready proves the pages updated by themselves.
    await page.evaluate('window.sameDocument = true');
    await row.getByRole('button', { name: `Yes, bring back ${domain}` }).click();

    await page.waitForURL(new RegExp(`/servers/${serverId}$`), { timeout: WAIT.short });
    await page.getByRole('heading', { name: `Setting up ${domain}` }).waitFor({ timeout: WAIT.short });
    // This setup's steps, not the ones done before the deletion: some are still to come.
    await page.locator('.steps li.step-waiting').first().waitFor({ timeout: WAIT.short });
    await page.locator('.step-done').first().waitFor({ timeout: WAIT.provisioning });
    await expectAccessibleEverywhere('server-coming-back');

    await page.getByRole('heading', { name: 'Connection' }).waitFor({ timeout: WAIT.provisioning });
    await page.locator('.page-head .badge').getByText('Ready', { exact: true }).waitFor({ timeout: WAIT.short });
    expect(await page.locator('.steps li.step-done').count()).toBe(7);
    expect(await page.evaluate('window.sameDocument')).toBe(true);

    // The old admin password was wiped with the deletion: the page reveals the new one.
    await page.getByRole('button', { name: 'Reveal admin password' }).click();
    const password = await copyableValue('admin password');
    expect(password).not.toBe(adminPassword);
    // Ports are allocated anew: the page says which.
    starttlsPort = Number(/^(\d+)/.exec(await page.locator('.facts li').first().innerText())?.[1]);
    await expectAccessibleEverywhere('server-brought-back');
    const session = await adminLogin(password);
    expect(session.jid.startsWith(`admin@${domain}/`)).toBe(true);
    await session.close();
    await expect(adminLogin(adminPassword)).rejects.toThrow(/not-authorized|auth/i);
    adminPassword = password;
    // Made before the deletion, on the data the final backup brought back.
    const bobSession = await xmppLogin(bob.username, bob.password);
    expect(bobSession.jid.startsWith(`bob@${domain}/`)).toBe(true);
    await bobSession.close();

    await page.getByRole('link', { name: 'Manage', exact: true }).click();
    const backups = page.getByRole('region', { name: 'Backups', exact: true });
    await backups.locator('tbody tr').filter({ hasText: 'Final backup before deletion' }).getByText('Done', { exact: true }).waitFor({ timeout: WAIT.short });
    await page.getByRole('region', { name: 'Audit log', exact: true }).getByText('Undid the deletion of a server').waitFor({ timeout: WAIT.short });
    await page.getByRole('link', { name: 'Servers', exact: true }).first().click();
    await page.locator('.list-title', { hasText: domain }).waitFor({ timeout: WAIT.short });
    expect(await page.getByRole('region', { name: 'Deleted servers', exact: true }).count()).toBe(0);
  }, 240_000);

  it('says beside Power when the worker\'s stop fails, offering no other action while it retries', async () => {
    await page.goto(`${api.url}/servers/${serverId}/manage`);
    const power = page.getByRole('region', { name: 'Power', exact: true });
    const stop = power.getByRole('button', { name: 'Stop', exact: true });
    await stop.waitFor({ timeout: WAIT.short });
    // Parley has given up repairing this server (as after a crash loop, whose five real failed
    // repairs take minutes), so the container removed below stays gone and every attempt to stop
    // it fails until the deletion below.
    await harness.prisma.incident.create({
      data: { serverId, kind: 'container_missing', status: 'needs_attention', repairAttempts: 5, lastError: 'the server did not answer after its container was recreated' },
    });
    await removeContainer(serverId);
    await stop.click();
    const failure = power.getByRole('alert');
    // In Parley's words for the failure's type, not the worker's raw error.
    await failure.getByText(/^Attempt \d+ of 20 failed: Your server's container was not found on its machine\. Parley keeps trying/).waitFor({ timeout: WAIT.short });
    expect(await power.getByRole('status').innerText()).toMatch(/^Stopping/);
    expect(await power.getByRole('button').count()).toBe(0);
    await expectAccessibleEverywhere('server-action-failing');

    await page.locator('.page-head .badge').getByText('Needs attention', { exact: true }).waitFor({ timeout: WAIT.short });
    await page.getByRole('link', { name: 'Overview', exact: true }).click();
    const incident = page.getByRole('article', { name: 'Server removed from its machine' });
    await incident.waitFor({ timeout: WAIT.short });
    expect(await incident.innerText()).toMatch(/stopped retrying after 5 repair attempts.*Restart the server in Manage/s);
    await expectVisible(page.getByText(/it has stopped retrying.*Restart the server from Manage/));
    await expectAccessibleEverywhere('server-needs-attention');
  });

  it('shows the audit log, and deletes the server again: with its container and data gone it kept nothing, so it cannot come back', async () => {
    await page.goto(`${api.url}/servers/${serverId}/manage`);
    const log = page.getByRole('region', { name: 'Audit log', exact: true });
    await log.getByText('Ordered a server').waitFor({ timeout: WAIT.short });
    // Three times: the first password, the one after the reset, the one after the deletion was undone.
    expect(await log.getByText('Revealed the admin password').count()).toBe(3);
    await expectAccessibleEverywhere('manage');

    // The data lost with the machine's disk: a container removed alone leaves the volume, which the
    // deletion would back up.
    for (const volume of (await docker().listVolumes({ filters: { label: [`parley.server=${serverId}`] } })).Volumes ?? []) await docker().getVolume(volume.Name).remove();
    const confirm = page.getByLabel(/Type the server’s name/);
    const remove = page.getByRole('button', { name: 'Delete server' });
    await confirm.fill('something else');
    expect(await remove.isDisabled()).toBe(true);
    await confirm.fill(label);
    await remove.click();
    await page.getByRole('heading', { name: 'Your servers' }).waitFor({ timeout: WAIT.short });
    await harness.waitForState(serverId, 'deleted', 90_000);
    const row = page.getByRole('region', { name: 'Deleted servers', exact: true }).getByRole('listitem').filter({ hasText: domain });
    await row.getByText('Cannot be brought back: Parley kept no backup of it when it was deleted (it had no data then, or the backup did not finish).').waitFor({ timeout: WAIT.short });
    expect(await row.getByRole('button').count()).toBe(0);
    await expectAccessibleEverywhere('deleted-server-not-restorable');

    await page.getByRole('link', { name: 'Activity' }).click();
    await page.getByText('Undid the deletion of a server').waitFor({ timeout: WAIT.short });
    await page.getByText('Deleted a server').nth(1).waitFor({ timeout: WAIT.short });
    await expectAccessibleEverywhere('activity');
  });

  it('manages the account: a token shown once works over HTTP until revoked, and a changed password logs in', async () => {
    const me = (secret: string) => fetch(`${api.url}/api/v1/me`, { headers: { authorization: `Bearer ${secret}` } });
    await page.getByRole('link', { name: `Your account: ${email}` }).click();
    await page.getByRole('heading', { name: 'Your account' }).waitFor({ timeout: WAIT.short });
    expect(await page.getByRole('region', { name: 'Plan and limits' }).innerText()).toMatch(/Personal.*Up to \d+ servers?.*per server/s);

    await page.getByLabel('Token name').fill('e2e script');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = await copyableValue('new API token');
    await expectVisible(page.getByText('Store it now'));
    const tokens = page.getByRole('region', { name: 'Your API tokens' });
    await tokens.getByText('e2e script').waitFor({ timeout: WAIT.short });
    await expectAccessibleEverywhere('account');
    const byToken = await me(secret);
    expect(byToken.status).toBe(200);
    expect(((await byToken.json()) as { account: { email: string } }).account.email).toBe(email);

    await page.getByRole('button', { name: 'I have stored it' }).click();
    // Dismissed, the secret is gone from the page for good.
    await page.getByText(secret).waitFor({ state: 'detached', timeout: WAIT.short });
    await page.getByRole('button', { name: 'Revoke e2e script' }).click();
    await page.getByRole('button', { name: 'Yes, revoke e2e script' }).click();
    await page.getByText('No API tokens yet.').waitFor({ timeout: WAIT.short });
    expect((await me(secret)).status).toBe(401);

    const current = page.getByLabel('Current password');
    const newPassword = page.getByLabel('New password', { exact: true });
    await current.fill('not the password at all');
    await newPassword.fill('amber quarry thistle beacon');
    await page.getByLabel('New password again').fill('amber quarry thistle beacon');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.locator('.field-error').waitFor({ timeout: WAIT.short });
    expect(await current.getAttribute('aria-invalid')).toBe('true');
    expect(await describedBy(current)).toBe('Current password is not the password of this account');
    expect(await newPassword.getAttribute('aria-invalid')).toBeNull();
    await expectAccessibleEverywhere('account-password-error');

    await current.fill('violet staple orbit lantern');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Password changed.').waitFor({ timeout: WAIT.short });
    expect(await page.locator('.field-error').count()).toBe(0);

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in to Parley' }).waitFor({ timeout: WAIT.short });
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('amber quarry thistle beacon');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Your servers' }).waitFor({ timeout: WAIT.short });
  });

  it('confirms the email from the mailed link, and resets a forgotten password through the mail', async () => {
    const verification = await mailbox.waitFor(email, /Confirm your email/);
    await page.goto(linkIn(verification, 'verify-email').link);
    await page.getByText('Your email is confirmed.').waitFor({ timeout: WAIT.short });
    await expectAccessibleEverywhere('verify-email');

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in to Parley' }).waitFor({ timeout: WAIT.short });
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByRole('heading', { name: 'Reset your password' }).waitFor({ timeout: WAIT.short });
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Mail me a link' }).click();
    await page.getByText(`If an account has the email ${email}`).waitFor({ timeout: WAIT.short });
    await expectAccessibleEverywhere('forgot-password');

    // What the SMTP server received, over SMTP: the link in it opens the dashboard's reset page.
    const { link } = linkIn(await mailbox.waitFor(email, /Reset your Parley password/), 'reset-password');
    expect(link.startsWith(`${api.url}/reset-password#token=`)).toBe(true);
    await page.goto(link);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor({ timeout: WAIT.short });
    await page.getByLabel('New password', { exact: true }).fill('copper lagoon fable orchard');
    await page.getByLabel('New password again').fill('copper lagoon fable orchard');
    await expectAccessibleEverywhere('reset-password');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByText('Your new password is set.').waitFor({ timeout: WAIT.short });

    // The link worked once (opened afresh: going to the same address again would not reload the page).
    await page.goto('about:blank');
    await page.goto(link);
    await page.getByLabel('New password', { exact: true }).fill('another quite long password');
    await page.getByLabel('New password again').fill('another quite long password');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByText('This link is not valid any more').waitFor({ timeout: WAIT.short });

    await page.goto(`${api.url}/login`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('amber quarry thistle beacon');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('Wrong email or password').waitFor({ timeout: WAIT.short });
    await page.getByLabel('Password').fill('copper lagoon fable orchard');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Your servers' }).waitFor({ timeout: WAIT.short });
  });

  it('turns on two-factor log-in from the QR code\'s key, then logs in with a code of it', async () => {
    await page.getByRole('link', { name: `Your account: ${email}` }).click();
    const section = page.getByRole('region', { name: 'Two-factor log-in' });
    await section.getByLabel('Your password').fill('copper lagoon fable orchard');
    await section.getByRole('button', { name: 'Set up two-factor log-in' }).click();
    await section.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor({ timeout: WAIT.short });
    const secret = await copyableValue('two-factor key');
    await expectAccessibleEverywhere('two-factor-enrol');
    const enrolStep = timeStep(new Date());
    await section.getByLabel('Code from the app').fill(totpCode(base32Decode(secret), enrolStep));
    await section.getByRole('button', { name: 'Turn on two-factor log-in' }).click();
    await section.getByText('Two-factor log-in is on.').waitFor({ timeout: WAIT.short });
    expect(await section.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allInnerTexts()).toHaveLength(10);
    await expectAccessibleEverywhere('two-factor-recovery-codes');
    await section.getByRole('button', { name: 'I have stored them' }).click();
    await section.getByRole('button', { name: 'Turn off two-factor log-in' }).waitFor({ timeout: WAIT.short });

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('copper lagoon fable orchard');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Two-factor code' }).waitFor({ timeout: WAIT.short });
    await page.getByLabel('Code', { exact: true }).fill('000000');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('is not a current code').waitFor({ timeout: WAIT.short });
    await expectAccessibleEverywhere('two-factor-login');
    // The enrolment's step is spent: the next one, still inside the window.
    const step = Math.max(timeStep(new Date()), enrolStep + 1);
    await page.getByLabel('Code', { exact: true }).fill(totpCode(base32Decode(secret), step));
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Your servers' }).waitFor({ timeout: WAIT.short });
  });

  it('says in plain words when Parley cannot be reached, and the page ran under its CSP without errors', async () => {
    expect(consoleErrors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
    await api.close();
    await page.getByRole('link', { name: 'Domains' }).click();
    await page.getByText('Parley is unreachable').first().waitFor({ timeout: WAIT.short });
    await expectAccessibleEverywhere('api-down');
  });
});
