import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { xml } from '@xmpp/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerContainerRuntime } from '../../worker/src/adapters/docker.container-runtime.js';
import { BACKUP_SCHEDULE_JOB } from '../../worker/src/contracts/provisioning.js';
import { enqueueServerExport } from '../../worker/src/contracts/provisioning-flow.js';
import { exportContentContext, importContentContext } from '../../worker/src/contracts/secret-contexts.js';
import { readServerData } from '../../worker/src/contracts/xep0227.js';
import { openDocument, sealDocument } from '../../worker/src/crypto/sealed-document.js';
import { prosodyCreateOrUpdateUser } from '../../worker/src/provisioning/prosody-accounts.js';
import { pebbleIssuers } from '../support/pebble.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { testEnv } from '../support/test-env.js';
import { until } from '../support/until.js';
import { connectAs, rosterJids, sendMessage, wholeArchive } from '../support/xmpp.js';

const PASSWORD = { alice: 'alice: her password from the old provider', bob: 'bob: his own' };
const MESSAGES = ['hello bob, 1', 'hello bob, 2', 'hello bob, 3'];

describe('export and import (XEP-0227): a server exported, its file imported into a new server, its users log in there', () => {
  let harness: ProvisioningHarness;
  let root: string;
  const docker = new Docker({ socketPath: testEnv().DOCKER_SOCKET });
  const runtime = new DockerContainerRuntime(docker);
  const servers: string[] = [];
  const order = async () => {
    const placed = await harness.placeOrder({ federation: false });
    servers.push(placed.serverId);
    return placed;
  };
  const c2sPort = async (serverId: string) => (await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId, purpose: 'c2s' } })).port;
  const login = async (serverId: string, domain: string, username: keyof typeof PASSWORD) =>
    connectAs({ host: '127.0.0.1', port: await c2sPort(serverId), domain, username, password: PASSWORD[username], trustedCaPems: [root], timeoutMs: 10_000, resource: `r${randomUUID().slice(0, 8)}` });

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(28_000);
    root = (await pebbleIssuers()).root.toString();
  });

  afterAll(async () => {
    for (const serverId of servers) await harness.deprovision(serverId);
    for (const serverId of servers) await harness.waitForState(serverId, 'deleted', 60_000);
    await harness.close();
  });

  it('exports users, rosters, vCards and archives; an order importing the file gives the same users on the new domain with their old passwords', async () => {
    const a = await order();
    await harness.provision(a.serverId);
    await harness.waitForState(a.serverId, 'ready');
    for (const username of ['alice', 'bob'] as const) await prosodyCreateOrUpdateUser(runtime, a.serverId, { username, domain: a.domain, password: PASSWORD[username] });

    const alice = await login(a.serverId, a.domain, 'alice');
    try {
      await alice.xmpp.iqCaller.request(xml('iq', { type: 'set' }, xml('query', { xmlns: 'jabber:iq:roster' }, xml('item', { jid: `bob@${a.domain}`, name: 'Bob' }))), 10_000);
      await alice.xmpp.iqCaller.request(xml('iq', { type: 'set' }, xml('vCard', { xmlns: 'vcard-temp' }, xml('FN', {}, 'Alice Exported'))), 10_000);
      for (const body of MESSAGES) await sendMessage(alice, `bob@${a.domain}`, body);
      await until('the messages archived', async () => ((await wholeArchive(alice)).length === MESSAGES.length ? true : null), 20_000, 250);
    } finally {
      await alice.close();
    }

    // As the API does: the row, then its job.
    const row = await harness.prisma.serverExport.create({ data: { serverId: a.serverId, expiresAt: new Date(Date.now() + 7 * 86_400_000) } });
    await enqueueServerExport((await harness.startWorker()).queue, { serverId: a.serverId, exportId: row.id });
    const done = await until(
      'the export',
      async () => {
        const current = await harness.prisma.serverExport.findUniqueOrThrow({ where: { id: row.id } });
        if (current.status === 'failed') throw new Error(`export failed: ${current.lastError ?? ''}`);
        return current.status === 'succeeded' ? current : null;
      },
      120_000,
      250,
    );
    expect(done.content).not.toBeNull();
    const document = openDocument(harness.secrets, done.content ?? new Uint8Array(), exportContentContext(row.id));
    expect(done.sizeBytes).toBe(BigInt(Buffer.byteLength(document)));
    expect(done.userCount).toBe(2);
    const summary = readServerData(document);
    expect(summary.host).toBe(a.domain);
    expect([...summary.users].sort(), "Parley's admin account stays behind").toEqual(['alice', 'bob']);
    expect(document).toContain("xmlns='urn:xmpp:pie:0#scram'".replace(/'/g, '"'));
    expect(document).toContain('<stored-key>');
    expect(document).toContain(`jid="bob@${a.domain}"`);
    expect(document).toContain('Alice Exported');
    expect(document).toContain('urn:xmpp:pie:0#mam');
    for (const body of MESSAGES) expect(document).toContain(body);
    // The server answers again after the copy thawed it.
    await (await login(a.serverId, a.domain, 'bob')).close();

    // An order on another domain with the file, as POST /imports then POST /servers {importId} write it.
    const b = await order();
    const accountId = (await harness.prisma.server.findUniqueOrThrow({ where: { id: b.serverId } })).accountId;
    const upload = await harness.prisma.serverImport.create({
      data: { accountId, host: summary.host, userCount: summary.users.length, content: sealDocument(harness.secrets, document, importContentContext(accountId)), expiresAt: new Date(Date.now() + 86_400_000) },
    });
    await harness.prisma.server.update({ where: { id: b.serverId }, data: { importId: upload.id } });
    await harness.provision(b.serverId);
    await harness.waitForState(b.serverId, 'ready', 120_000);

    const moved = await login(b.serverId, b.domain, 'alice');
    try {
      expect(await rosterJids(moved), "her contact moved with her, to the new domain").toEqual([`bob@${b.domain}`]);
      expect(await wholeArchive(moved)).toEqual(MESSAGES);
      const vcard = await moved.xmpp.iqCaller.request(xml('iq', { type: 'get' }, xml('vCard', { xmlns: 'vcard-temp' })), 10_000);
      expect(vcard.getChild('vCard', 'vcard-temp')?.getChildText('FN')).toBe('Alice Exported');
    } finally {
      await moved.close();
    }
    await (await login(b.serverId, b.domain, 'bob')).close();
    // The admin account step ran after the import as usual.
    const admin = await harness.adminPassword(b.serverId);
    await (await connectAs({ host: '127.0.0.1', port: await c2sPort(b.serverId), domain: b.domain, username: 'admin', password: admin.password, trustedCaPems: [root], timeoutMs: 10_000 })).close();

    const users = await harness.prisma.xmppUser.findMany({ where: { serverId: b.serverId }, orderBy: { localpart: 'asc' } });
    expect(users.map((u) => [u.localpart, u.state])).toEqual([
      ['alice', 'active'],
      ['bob', 'active'],
    ]);
    const used = await harness.prisma.serverImport.findUniqueOrThrow({ where: { id: upload.id } });
    expect(used.usedByServerId).toBe(b.serverId);
    expect(used.content.length, 'the file is dropped once used').toBe(0);
    expect((await harness.prisma.server.findUniqueOrThrow({ where: { id: b.serverId } })).importId).toBeNull();
    // No data tool container is left behind.
    expect(await docker.listContainers({ all: true, filters: { label: ['parley.role=data-tool'] } })).toEqual([]);
  }, 400_000);

  it("the backup schedule's tick deletes expired exports and unused expired imports, and keeps the rest", async () => {
    const { serverId } = await order();
    const { accountId } = await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } });
    const past = new Date(Date.now() - 60_000);
    const future = new Date(Date.now() + 86_400_000);
    const content = new Uint8Array([1, 2, 3]);
    const exportRow = (status: 'succeeded' | 'failed' | 'queued', expiresAt: Date) => harness.prisma.serverExport.create({ data: { serverId, status, expiresAt, ...(status === 'succeeded' ? { content } : {}) } });
    const importRow = (expiresAt: Date) => harness.prisma.serverImport.create({ data: { accountId, host: 'old.example', userCount: 1, content, expiresAt } });
    const gone = [await exportRow('succeeded', past), await exportRow('failed', past)];
    const kept = [await exportRow('succeeded', future), await exportRow('queued', past)];
    const [expiredImport, waitingImport, freshImport] = [await importRow(past), await importRow(past), await importRow(future)];
    // An order still waits for this one: its container step has not run yet.
    const waiting = await order();
    await harness.prisma.server.update({ where: { id: waiting.serverId }, data: { importId: waitingImport.id } });

    await (await harness.startWorker()).queue.add(BACKUP_SCHEDULE_JOB, {});
    await until('the expired exports are deleted', async () => ((await harness.prisma.serverExport.count({ where: { id: { in: gone.map((r) => r.id) } } })) === 0 ? true : null), 30_000);
    await until('the expired import is deleted', async () => ((await harness.prisma.serverImport.count({ where: { id: expiredImport.id } })) === 0 ? true : null), 30_000);
    expect(await harness.prisma.serverExport.count({ where: { id: { in: kept.map((r) => r.id) } } }), 'a fresh export, and one still queued, stay').toBe(2);
    expect(await harness.prisma.serverImport.count({ where: { id: { in: [waitingImport.id, freshImport.id] } } }), 'an import an order waits for, and a fresh one, stay').toBe(2);
  }, 60_000);
});
