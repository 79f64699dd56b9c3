import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xml } from '@xmpp/client';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerContainerRuntime } from '../../worker/src/adapters/docker.container-runtime.js';
import { enqueueServerBackup } from '../../worker/src/contracts/provisioning-flow.js';
import { prosodyCreateOrUpdateUser } from '../../worker/src/provisioning/prosody-accounts.js';
import { pebbleIssuers } from '../support/pebble.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { testEnv } from '../support/test-env.js';
import { until } from '../support/until.js';
import { connectAs, joinRoom, makeRoomPersistent, sendGroupMessage, sendMessage, wholeArchive, rosterJids } from '../support/xmpp.js';

const PASSWORD = { alice: 'alice: cloned with her data', bob: 'bob: along for the ride' };
const CHATS = ['first chat', 'second chat'];
const GROUP = ['group one', 'group two'];

describe('restoring a backup as a clone: a new server under another domain with all the data of the backup', () => {
  let harness: ProvisioningHarness;
  let repositoryDir: string;
  let root: string;
  const runtime = new DockerContainerRuntime(new Docker({ socketPath: testEnv().DOCKER_SOCKET }));
  const servers: string[] = [];
  const c2sPort = async (serverId: string) => (await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId, purpose: 'c2s' } })).port;
  const login = async (serverId: string, domain: string, username: keyof typeof PASSWORD | 'admin', password?: string) =>
    connectAs({ host: '127.0.0.1', port: await c2sPort(serverId), domain, username, password: password ?? PASSWORD[username as keyof typeof PASSWORD], trustedCaPems: [root], timeoutMs: 10_000, resource: `r${randomUUID().slice(0, 8)}` });

  beforeAll(async () => {
    repositoryDir = join(await mkdtemp(join(tmpdir(), 'parley-server-clone-')), 'repository');
    harness = await ProvisioningHarness.create(21_000, { configure: (config) => ({ ...config, backups: { ...config.backups, repository: repositoryDir } }) });
    root = (await pebbleIssuers()).root.toString();
  });

  afterAll(async () => {
    for (const serverId of servers) await harness.deprovision(serverId);
    for (const serverId of servers) await harness.waitForState(serverId, 'deleted', 60_000);
    await harness?.close();
    if (repositoryDir) await rm(join(repositoryDir, '..'), { recursive: true, force: true });
  });

  it('logs in to the clone with the old passwords; contacts, chat archive and group chat history are there, under the new domain', async () => {
    const a = await harness.placeOrder({ federation: false });
    servers.push(a.serverId);
    await harness.provision(a.serverId);
    await harness.waitForState(a.serverId, 'ready');
    for (const username of ['alice', 'bob'] as const) await prosodyCreateOrUpdateUser(runtime, a.serverId, { username, domain: a.domain, password: PASSWORD[username] });
    const room = (domain: string) => `lobby@conference.${domain}`;
    const alice = await login(a.serverId, a.domain, 'alice');
    try {
      await alice.xmpp.iqCaller.request(xml('iq', { type: 'set' }, xml('query', { xmlns: 'jabber:iq:roster' }, xml('item', { jid: `bob@${a.domain}`, name: 'Bob' }))), 10_000);
      for (const body of CHATS) await sendMessage(alice, `bob@${a.domain}`, body);
      await joinRoom(alice, room(a.domain), 'alice');
      await makeRoomPersistent(alice, room(a.domain));
      for (const body of GROUP) await sendGroupMessage(alice, room(a.domain), body);
      await until('the group messages archived', async () => ((await wholeArchive(alice, { archive: room(a.domain) })).length === GROUP.length ? true : null), 20_000);
    } finally {
      await alice.close();
    }
    const backup = await harness.prisma.serverBackup.create({ data: { serverId: a.serverId, kind: 'on_demand' } });
    await enqueueServerBackup((await harness.startWorker()).queue, { serverId: a.serverId, backupId: backup.id });
    await until('the backup', async () => {
      const row = await harness.prisma.serverBackup.findUniqueOrThrow({ where: { id: backup.id } });
      if (row.status === 'failed') throw new Error(`backup failed: ${row.lastError ?? ''}`);
      return row.status === 'succeeded' ? row : null;
    }, 90_000);

    // The clone, as POST /servers {cloneFromBackupId} writes it: same account, another name.
    const source = await harness.prisma.server.findUniqueOrThrow({ where: { id: a.serverId } });
    const label = `c${randomBytes(5).toString('hex')}`;
    const b = await harness.prisma.server.create({
      data: { accountId: source.accountId, name: label, domain: `${label}.${harness.config.platformZone}`, domainKind: 'platform', federation: false, planId: source.planId, cloneBackupId: backup.id },
    });
    servers.push(b.id);
    await harness.provision(b.id);
    await harness.waitForState(b.id, 'ready', 120_000);

    const cloned = await login(b.id, b.domain, 'alice');
    try {
      expect(await rosterJids(cloned), 'her contact is on the new domain').toEqual([`bob@${b.domain}`]);
      expect(await wholeArchive(cloned)).toEqual(CHATS);
      await joinRoom(cloned, room(b.domain), 'alice');
      expect(await wholeArchive(cloned, { archive: room(b.domain) }), "the group chat's history").toEqual(GROUP);
    } finally {
      await cloned.close();
    }
    await (await login(b.id, b.domain, 'bob')).close();
    await (await login(b.id, b.domain, 'admin', (await harness.adminPassword(b.id)).password)).close();
    expect((await harness.prisma.server.findUniqueOrThrow({ where: { id: b.id } })).cloneBackupId).toBeNull();

    // The source is untouched: its users still log in there, with its own data.
    const still = await login(a.serverId, a.domain, 'alice');
    try {
      expect(await rosterJids(still)).toEqual([`bob@${a.domain}`]);
    } finally {
      await still.close();
    }
  }, 400_000);
});
