import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHarness, withToken, type ApiHarness, type TestAccount } from '../support/api-harness.js';

// The list reads with a statement of its own (server-list.ts) while a server's detail reads
// through Prisma: every item must be exactly the detail's answer without the detail-only fields.
let harness: ApiHarness;
let carol: TestAccount;
let dave: TestAccount;
let operator: TestAccount;
const carols: string[] = [];
let daves: string;
let deleted: string;

interface Item {
  id: string;
  connection: unknown;
}
interface Page {
  items: Item[];
  nextCursor: string | null;
}

const PURPOSES = ['c2s', 'c2s_direct_tls', 's2s', 'https'] as const;

async function server(owner: TestAccount, options: { federation: boolean; ports: readonly (typeof PURPOSES)[number][]; deleted?: boolean }): Promise<string> {
  const { prisma } = harness;
  const plan = await prisma.plan.findUniqueOrThrow({ where: { code: 'team' } });
  const name = `l${randomBytes(5).toString('hex')}`;
  const node = await prisma.node.create({
    data: { name, hostname: `node-${name}.${harness.config.platformZone}`, publicAddress: '127.0.0.1', dockerEndpoint: 'unix:///var/run/docker.sock', portRangeStart: 30_000, portRangeEnd: 30_099 },
  });
  const created = await prisma.server.create({
    data: {
      accountId: owner.id,
      name,
      domain: `${name}.${harness.config.platformZone}`,
      domainKind: 'platform',
      federation: options.federation,
      planId: plan.id,
      nodeId: node.id,
      state: options.ports.length > 0 ? 'ready' : 'allocating',
      stateReason: options.ports.length > 0 ? null : 'waiting for a port',
      readyAt: options.ports.length > 0 ? new Date() : null,
      ...(options.deleted ? { deletedAt: new Date(), desiredState: 'deleted' as const } : {}),
    },
  });
  await prisma.portAllocation.createMany({
    data: options.ports.map((purpose) => ({ nodeId: node.id, serverId: created.id, purpose, port: 30_000 + PURPOSES.indexOf(purpose) })),
  });
  return created.id;
}

const get = async <T>(url: string, as: TestAccount): Promise<T> => {
  const answer = await harness.inject({ method: 'GET', url, headers: withToken(as) });
  expect(answer.statusCode, answer.body).toBe(200);
  return answer.json<T>();
};

beforeAll(async () => {
  harness = await startApiHarness();
  [carol, dave, operator] = [await harness.signUp(), await harness.signUp(), await harness.signUp({ operator: true })];
  // Created in this order, so newest first is the reverse (ids are UUIDv7).
  carols.push(await server(carol, { federation: true, ports: PURPOSES }));
  carols.push(await server(carol, { federation: false, ports: PURPOSES }));
  carols.push(await server(carol, { federation: true, ports: ['c2s'] }));
  carols.push(await server(carol, { federation: false, ports: [] }));
  deleted = await server(carol, { federation: false, ports: PURPOSES, deleted: true });
  daves = await server(dave, { federation: true, ports: PURPOSES });
  carols.reverse();
});

afterAll(async () => {
  await harness?.close();
});

describe('GET /api/v1/servers', () => {
  it('lists the account\'s live servers newest first, each exactly as its detail shows it', async () => {
    const page = await get<Page>('/api/v1/servers', carol);
    expect(page.items.map((s) => s.id)).toEqual(carols);
    expect(page.nextCursor).toBeNull();
    for (const item of page.items) {
      type DetailOnly = 'srvRecords' | 'certificate' | 'incidents' | 'contacts' | 'calls' | 'federationSeen' | 'compliance';
      const detail = await get<Item & Record<DetailOnly, unknown>>(`/api/v1/servers/${item.id}`, carol);
      const { srvRecords: _records, certificate: _certificate, incidents: _incidents, contacts: _contacts, calls: _calls, federationSeen: _seen, compliance: _compliance, ...summary } = detail;
      expect(item).toEqual(summary);
    }
  });

  it('shows the ports a server holds, federation only when it federates', async () => {
    const page = await get<Page>('/api/v1/servers', carol);
    const [noPorts, c2sOnly, unfederated, federated] = page.items.map((s) => s.connection);
    expect(noPorts).toBeNull();
    const domainOf = (id: string | undefined) => page.items.find((s) => s.id === id) as unknown as { domain: string };
    const at = (id: string | undefined) => ({ jidDomain: domainOf(id).domain, host: domainOf(id).domain });
    expect(c2sOnly).toEqual({ ...at(carols[1]), ports: { starttls: 30_000, directTls: null, federation: null, upload: null } });
    expect(unfederated).toEqual({ ...at(carols[2]), ports: { starttls: 30_000, directTls: 30_001, federation: null, upload: 30_003 } });
    expect(federated).toEqual({ ...at(carols[3]), ports: { starttls: 30_000, directTls: 30_001, federation: 30_002, upload: 30_003 } });
  });

  it('pages by cursor', async () => {
    const first = await get<Page>('/api/v1/servers?limit=3', carol);
    expect(first.items.map((s) => s.id)).toEqual(carols.slice(0, 3));
    expect(first.nextCursor).toBe(carols[2]);
    const rest = await get<Page>(`/api/v1/servers?limit=3&cursor=${first.nextCursor}`, carol);
    expect(rest.items.map((s) => s.id)).toEqual(carols.slice(3));
    expect(rest.nextCursor).toBeNull();
  });

  it('shows another account none of them, and an operator everyone\'s', async () => {
    expect((await get<Page>('/api/v1/servers', dave)).items.map((s) => s.id)).toEqual([daves]);
    const everyone = (await get<Page>('/api/v1/servers?limit=100', operator)).items.map((s) => s.id);
    expect(everyone).toEqual(expect.arrayContaining([...carols, daves]));
    expect(everyone).not.toContain(deleted);
  });
});
