import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverExportJobId } from '../../worker/src/contracts/provisioning.js';
import { startApiHarness, withToken, type ApiHarness, type TestAccount } from '../support/api-harness.js';
import { exportFixture, readyServer } from '../support/api-tenant-fixtures.js';
import { provisioningQueue } from '../support/provisioning-queue.js';

let harness: ApiHarness;
let queue: Queue;
let closeQueue: (() => Promise<void>) | undefined;
let owner: TestAccount;

const PIE = "xmlns='urn:xmpp:pie:0'";
const file = (users: string[], host = 'old.example') => `<server-data ${PIE}><host jid='${host}'>${users.map((u) => `<user name='${u}'/>`).join('')}</host></server-data>`;

beforeAll(async () => {
  harness = await startApiHarness();
  ({ queue, close: closeQueue } = provisioningQueue(harness.redis.url));
  owner = await harness.signUp();
});

afterAll(async () => {
  await closeQueue?.();
  await harness?.close();
});

const upload = (body: string, account = owner, contentType = 'application/xml') =>
  harness.inject({ method: 'POST', url: '/api/v1/imports', headers: { ...withToken(account), 'content-type': contentType }, payload: body });

describe('exports of a server', () => {
  it('makes one export row and one job; asking again while it is queued returns the same, audited once', async () => {
    const server = await readyServer(harness, owner);
    const first = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/exports`, headers: withToken(owner) });
    expect(first.statusCode, first.body).toBe(202);
    const row = first.json<{ id: string; status: string; expiresAt: string }>();
    expect(row.status).toBe('queued');
    expect(new Date(row.expiresAt).getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    expect(await queue.getJob(serverExportJobId(row.id))).toBeDefined();
    const again = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/exports`, headers: withToken(owner) });
    expect(again.json<{ id: string }>().id).toBe(row.id);
    const listed = await harness.inject({ method: 'GET', url: `/api/v1/servers/${server.id}/exports`, headers: withToken(owner) });
    expect(listed.json<{ items: { id: string }[] }>().items.map((i) => i.id)).toEqual([row.id]);
    expect(await harness.prisma.auditLog.count({ where: { action: 'server.export', targetId: server.id } })).toBe(1);
  });

  it('downloads a finished export as an XML attachment; 409 while not ready, 410 once expired', async () => {
    const { params } = await exportFixture(harness, owner);
    const url = `/api/v1/servers/${params.serverId}/exports/${params.id}/download`;
    const ok = await harness.inject({ method: 'GET', url, headers: withToken(owner) });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^application\/xml/);
    expect(ok.headers['content-disposition']).toMatch(/^attachment; filename=".+\.xml"$/);
    expect(ok.body).toBe("<server-data xmlns='urn:xmpp:pie:0'><host jid='fixture.example'/></server-data>");
    // Password data and messages: the owner's only, as revealed credentials are.
    const asOperator = await harness.inject({ method: 'GET', url, headers: withToken(await harness.signUp({ operator: true })) });
    expect(asOperator.statusCode).toBe(403);
    expect(asOperator.body).not.toContain('server-data');

    await harness.prisma.serverExport.update({ where: { id: params.id }, data: { status: 'running' } });
    const busy = await harness.inject({ method: 'GET', url, headers: withToken(owner) });
    expect(busy.statusCode).toBe(409);
    expect(busy.json<{ detail: string }>().detail).toMatch(/is running; download it once its status is "succeeded"/);

    await harness.prisma.serverExport.update({ where: { id: params.id }, data: { status: 'succeeded', expiresAt: new Date(Date.now() - 1000) } });
    expect((await harness.inject({ method: 'GET', url, headers: withToken(owner) })).statusCode).toBe(410);
  });

  it('refuses an export of a server not set up yet', async () => {
    const server = await readyServer(harness, owner);
    await harness.prisma.server.update({ where: { id: server.id }, data: { state: 'dns' } });
    const answer = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/exports`, headers: withToken(owner) });
    expect(answer.statusCode).toBe(409);
    expect(await harness.prisma.serverExport.count({ where: { serverId: server.id } })).toBe(0);
  });
});

describe('imports (XEP-0227 uploads) and ordering a server with one', () => {
  it('takes a XEP-0227 file: 201 with its host and users, sealed at rest, audited', async () => {
    const answer = await upload(file(['alice', 'bob']));
    expect(answer.statusCode, answer.body).toBe(201);
    const body = answer.json<{ id: string; host: string; userCount: number; expiresAt: string }>();
    expect(body).toMatchObject({ host: 'old.example', userCount: 2 });
    const row = await harness.prisma.serverImport.findUniqueOrThrow({ where: { id: body.id } });
    expect(Buffer.from(row.content).toString('latin1')).not.toContain('alice');
    expect(await harness.prisma.auditLog.count({ where: { action: 'server_import.create', targetId: body.id } })).toBe(1);
  });

  it("refuses a bad file with the validator's words and keeps nothing", async () => {
    const before = await harness.prisma.serverImport.count();
    const cases: [string, RegExp][] = [
      ['<nope', /not well-formed/],
      ['<a/>', /not a XEP-0227 export/],
      [file(['admin']), /user named "admin".*Rename that user/],
      [file(['Bob']), /cannot be imported/],
    ];
    for (const [body, message] of cases) {
      const answer = await upload(body);
      expect(answer.statusCode, body).toBe(400);
      expect(answer.json<{ detail: string }>().detail).toMatch(message);
    }
    expect(await harness.prisma.serverImport.count()).toBe(before);
  });

  it('answers 413 beyond the upload limit', async () => {
    const answer = await upload(`<server-data ${PIE}>${' '.repeat(65 * 1024 * 1024)}</server-data>`);
    expect(answer.statusCode).toBe(413);
  });

  it("orders a server with the caller's import; another account's, a used one and one over the plan's users are refused, changing nothing", async () => {
    const buyer = await harness.signUp();
    const id = upload(file(['alice', 'bob']), buyer).then((a) => a.json<{ id: string }>().id);
    const importId = await id;
    const order = (name: string, account: TestAccount, withImport: string) =>
      harness.inject({ method: 'POST', url: '/api/v1/servers', headers: withToken(account), payload: { name, importId: withImport } });

    const stranger = await harness.signUp();
    const foreign = await order(`s${Date.now()}`, stranger, importId);
    expect(foreign.statusCode).toBe(400);
    expect(await harness.prisma.server.count({ where: { accountId: stranger.id } })).toBe(0);

    const plan = await harness.prisma.account.findUniqueOrThrow({ where: { id: buyer.id }, include: { plan: true } });
    const crowded = await upload(file(Array.from({ length: plan.plan.maxUsersPerServer + 1 }, (_, i) => `u${i}`)), buyer);
    const tooMany = await order(`c${Date.now()}`, buyer, crowded.json<{ id: string }>().id);
    expect(tooMany.statusCode).toBe(409);
    expect(tooMany.json<{ detail: string }>().detail).toMatch(/plan allows/);

    const ordered = await order(`o${Date.now()}`, buyer, importId);
    expect(ordered.statusCode, ordered.body).toBe(202);
    const server = await harness.prisma.server.findUniqueOrThrow({ where: { id: ordered.json<{ id: string }>().id } });
    expect(server.importId).toBe(importId);

    const reused = await order(`r${Date.now()}`, buyer, importId);
    expect(reused.statusCode).toBe(409);
    expect(await harness.prisma.server.count({ where: { accountId: buyer.id } })).toBe(1);
  });
});
