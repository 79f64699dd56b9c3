// GET /api/v1/servers as an operator sees it with 10,000 servers in one account. The list is
// paginated (cursor, at most 100 a page): what is timed is the first page as the dashboard
// requests it (web/src/servers/server-queries.ts: ?limit=100), read to its last byte.
import type { PrismaClient } from '../../../prisma/client.js';
import type { ApiRequest } from '../../support/platform-api.js';
import { percentile } from '../shared/stats.js';

/** The dashboard's request for the server list. */
export const DASHBOARD_LIST_PATH = '/servers?limit=100';
const INSERT_CHUNK = 2_000;

/**
 * Writes `rows` servers for one new account straight into the database, as rows the worker leaves
 * alone while they exist: stopped by their owner and on no node (no reconciler, census or backup
 * schedule looks at them). Resolves with the account's id, which `removeFixture` takes.
 */
export async function insertFixture(prisma: PrismaClient, rows: number, label: string, zone: string): Promise<string> {
  const plan = await prisma.plan.findUniqueOrThrow({ where: { code: 'team' } });
  const account = await prisma.account.create({ data: { email: `${label}@example.test`, passwordHash: 'fixture: never logs in', planId: plan.id } });
  for (let start = 0; start < rows; start += INSERT_CHUNK) {
    const data = Array.from({ length: Math.min(INSERT_CHUNK, rows - start) }, (_, i) => ({
      accountId: account.id,
      name: `${label}${start + i}`,
      domain: `${label}${start + i}.${zone}`,
      domainKind: 'platform' as const,
      federation: true,
      planId: plan.id,
      state: 'stopped' as const,
      desiredState: 'stopped' as const,
    }));
    await prisma.server.createMany({ data });
  }
  return account.id;
}

export async function removeFixture(prisma: PrismaClient, accountId: string): Promise<void> {
  await prisma.server.deleteMany({ where: { accountId } });
  await prisma.account.delete({ where: { id: accountId } });
}

export interface ListTiming {
  p50: number;
  p99: number;
  items: number;
  bytes: number;
}

/** `warmup` untimed requests, then `requests` timed one after another, each read to the end. */
export async function timeList(request: ApiRequest, warmup: number, requests: number): Promise<ListTiming> {
  const once = async () => {
    const started = performance.now();
    const answer = await request('GET', DASHBOARD_LIST_PATH);
    const body = await answer.text();
    const ms = performance.now() - started;
    if (!answer.ok) throw new Error(`GET ${DASHBOARD_LIST_PATH}: ${answer.status} ${body}`);
    return { ms, body };
  };
  for (let i = 0; i < warmup; i++) await once();
  const times: number[] = [];
  let last = '';
  for (let i = 0; i < requests; i++) {
    const { ms, body } = await once();
    times.push(ms);
    last = body;
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99), items: (JSON.parse(last) as { items: unknown[] }).items.length, bytes: Buffer.byteLength(last) };
}
