// bench:usage: the customer's usage page for a server that has run for a year, as they see it.
// A year of samples at the production census interval (ACCOUNT_CENSUS_INTERVAL_MS' default) and
// a year of message counts are written for one ready server; then, through the listening API at
// the production log level (info, to /dev/null), GET /servers/{id}/usage is timed, and the built
// dashboard's Usage tab is opened in Chromium and timed until its three charts are drawn.
// `npm run bench:usage` prints a table and, as its last line, one JSON object.
//
// The rows are written straight into the database: the census that writes them in production is
// what tests/integration/usage.test.ts proves against real clients; a year of it cannot be waited for.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { buildApp } from '../../api/src/app.js';
import { loadApiConfig } from '../../api/src/config.js';
import { loadWorkerConfig } from '../../worker/src/config.js';
import { seedPlans } from '../../prisma/seed.js';
import { launchBrowser } from '../support/browser.js';
import { freePort, RedisServer } from '../support/redis-server.js';
import { createTestDatabase } from '../support/test-database.js';

const { values: args } = parseArgs({ options: { loads: { type: 'string', default: '10' }, requests: { type: 'string', default: '50' } } });
const PAGE_LOADS = Number(args.loads);
const API_REQUESTS = Number(args.requests);
const DAYS = 365;
const DAY_MS = 86_400_000;
const CHARTS = 3;
const BATCH = 5_000;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};
const round = (ms: number) => Math.round(ms * 10) / 10;
/** The page's document, as functions run in the browser see it (the page's CSP forbids evaluating strings; this project's TypeScript has no DOM types). */
type InPage = { document: { querySelectorAll(selector: string): { length: number } } };

async function main(): Promise<void> {
  execFileSync('bash', ['web/build.sh'], { stdio: 'ignore' });
  const intervalMs = loadWorkerConfig().jobs.accountCensusIntervalMs;
  const db = await createTestDatabase();
  const redis = await RedisServer.start();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const defaults = loadApiConfig();
  const config = { ...defaults, databaseUrl: db.url, redisUrl: redis.url, logLevel: 'info', host: '127.0.0.1', port };
  const app = buildApp({ config, logStream: createWriteStream('/dev/null') });
  const browser = await launchBrowser();
  try {
    await seedPlans(db.prisma);
    await app.listen({ host: '127.0.0.1', port });

    // A customer as the dashboard makes one: signed up (session cookie), with an API token.
    const email = `usage-${randomBytes(4).toString('hex')}@example.test`;
    const signUp = await fetch(`${url}/api/v1/accounts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: `usage bench ${randomBytes(8).toString('hex')}`, plan: 'team' }) });
    if (signUp.status !== 201) throw new Error(`sign-up: ${signUp.status} ${await signUp.text()}`);
    const [cookieName = '', cookieValue = ''] = ((signUp.headers.get('set-cookie') ?? '').split(';')[0] ?? '').split('=');
    const { csrfToken, account } = (await signUp.json()) as { csrfToken: string; account: { id: string } };
    const tokenAnswer = await fetch(`${url}/api/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: `${cookieName}=${cookieValue}`, 'x-csrf-token': csrfToken }, body: JSON.stringify({ name: 'usage bench' }) });
    if (tokenAnswer.status !== 201) throw new Error(`token: ${tokenAnswer.status} ${await tokenAnswer.text()}`);
    const { secret } = (await tokenAnswer.json()) as { secret: string };

    const plan = await db.prisma.plan.findUniqueOrThrow({ where: { code: 'team' } });
    const now = Date.now();
    const server = await db.prisma.server.create({
      data: { accountId: account.id, name: 'yearold', domain: 'yearold.parley.test', domainKind: 'platform', planId: plan.id, state: 'ready', readyAt: new Date(now - DAYS * DAY_MS) },
    });
    const samples = Math.floor((DAYS * DAY_MS) / intervalMs);
    const seedStart = performance.now();
    for (let from = 0; from < samples; from += BATCH) {
      await db.prisma.serverUsageSample.createMany({
        data: Array.from({ length: Math.min(BATCH, samples - from) }, (_, i) => {
          const n = from + i;
          const growth = n / samples;
          return {
            serverId: server.id,
            takenAt: new Date(now - (samples - n) * intervalMs),
            registeredUsers: 5 + Math.round(growth * 40),
            onlineUsers: Math.round((Math.sin(n / 20) + 1) * 6),
            uploadBytes: BigInt(Math.round(growth * 400_000_000)),
            archiveBytes: BigInt(Math.round(growth * 90_000_000)),
          };
        }),
      });
    }
    await db.prisma.serverMessageDay.createMany({
      data: Array.from({ length: DAYS }, (_, i) => ({ serverId: server.id, day: new Date(Math.floor((now - i * DAY_MS) / DAY_MS) * DAY_MS), messages: 200 + ((i * 37) % 150) })),
    });
    await db.prisma.$executeRawUnsafe('ANALYZE server_usage_samples');
    const seedMs = performance.now() - seedStart;

    // The API: sequential requests, as one page's refreshes are.
    const apiMs: number[] = [];
    let bytes = 0;
    for (let i = 0; i < API_REQUESTS + 5; i++) {
      const started = performance.now();
      const answer = await fetch(`${url}/api/v1/servers/${server.id}/usage`, { headers: { authorization: `Bearer ${secret}` } });
      const body = await answer.text();
      if (answer.status !== 200) throw new Error(`GET usage: ${answer.status} ${body.slice(0, 200)}`);
      if (i >= 5) apiMs.push(performance.now() - started);
      bytes = body.length;
    }

    // The page: each load from a new tab of a logged-in browser, timed from the navigation's start
    // to the moment all three charts have their canvas (the browser's own clock).
    await browser.context.addCookies([{ name: cookieName, value: cookieValue, url }]);
    const pageMs: number[] = [];
    const switchMs: number[] = [];
    for (let i = 0; i < PAGE_LOADS; i++) {
      const page = await browser.context.newPage();
      await page.goto(`${url}/servers/${server.id}/usage`);
      await page.waitForFunction((charts) => (globalThis as unknown as InPage).document.querySelectorAll('.chart-plot canvas').length === charts, CHARTS, { timeout: 30_000 });
      pageMs.push(await page.evaluate(() => performance.now()));
      const clicked = await page.evaluate(() => performance.now());
      await page.getByRole('button', { name: '30 days' }).click();
      await page.waitForFunction((charts) => (globalThis as unknown as InPage).document.querySelectorAll('.chart-plot[aria-label*="last 30 days"]').length === charts, CHARTS, { timeout: 30_000 });
      switchMs.push((await page.evaluate(() => performance.now())) - clicked);
      await page.close();
    }

    const settings = {
      census_interval_ms: intervalMs,
      samples,
      message_days: DAYS,
      api_log_level: config.logLevel,
      api_requests: API_REQUESTS,
      page_loads: PAGE_LOADS,
      browser: 'Debian chromium, headless, 1280x800',
      cores: availableParallelism(),
      node: process.version,
    };
    const table: [string, number, number, number][] = [
      ['API GET /servers/{id}/usage', round(percentile(apiMs, 50)), round(percentile(apiMs, 95)), round(Math.max(...apiMs))],
      ['page: navigation to 3 charts', round(percentile(pageMs, 50)), round(percentile(pageMs, 95)), round(Math.max(...pageMs))],
      ['page: 7 days to 30 days', round(percentile(switchMs, 50)), round(percentile(switchMs, 95)), round(Math.max(...switchMs))],
    ];
    const pad = (v: string | number, w: number) => String(v).padStart(w);
    console.log(`Usage page benchmark: one server with a year of samples (${samples} samples every ${intervalMs / 60_000} min, ${DAYS} days of message counts; seeded in ${Math.round(seedMs)} ms)`);
    console.log(`  settings: ${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(', ')}`);
    console.log(`  ${'what'.padEnd(32)}${['p50 ms', 'p95 ms', 'max ms'].map((h) => pad(h, 10)).join('')}`);
    for (const [label, ...cells] of table) console.log(`  ${label.padEnd(32)}${cells.map((c) => pad(c, 10)).join('')}`);
    console.log(`  the usage answer is ${bytes} bytes; the first page load includes the dashboard's scripts, the others come from the browser's cache`);
    console.log(
      JSON.stringify({
        usage_api_p50_ms: table[0]?.[1],
        usage_api_p95_ms: table[0]?.[2],
        usage_page_render_p50_ms: table[1]?.[1],
        usage_page_render_p95_ms: table[1]?.[2],
        usage_page_first_load_ms: round(pageMs[0] ?? 0),
        usage_range_switch_p50_ms: table[2]?.[1],
        usage_answer_bytes: bytes,
        settings,
      }),
    );
  } finally {
    await browser.close();
    await app.close();
    await redis.stop();
    await db.drop();
  }
}

await main();
