import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName, DockerContainerRuntime } from '../../worker/src/adapters/docker.container-runtime.js';
import { ResticBackupRepository } from '../../worker/src/adapters/restic.backup-repository.js';
import { serverSnapshotTag } from '../../worker/src/backups/server-snapshot.js';
import { BACKUP_SCHEDULE_JOB } from '../../worker/src/contracts/provisioning.js';
import { prosodyCreateOrUpdateUser } from '../../worker/src/provisioning/prosody-accounts.js';
import { signUpThrough, withToken, type TestAccount } from '../support/api-harness.js';
import { pebbleIssuers } from '../support/pebble.js';
import { startPlatformApi, type ListeningApi } from '../support/platform-api.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { testEnv } from '../support/test-env.js';
import { connectAs, deliverMessage, joinRoom, makeRoomPersistent, sendGroupMessage, wholeArchive } from '../support/xmpp.js';
import { until } from '../support/until.js';

const CHILD_PATH = '/usr/local/bin:/usr/bin:/bin';
const GRACE_MS = 7 * 86_400_000;
const ALICE = { username: 'alice', password: 'alice: from before the deletion' };
const BOB = { username: 'bob', password: 'bob: from before the deletion' };

describe('deleting a server keeps a final backup for the grace period; undoing the deletion brings the server back with its data', () => {
  let harness: ProvisioningHarness;
  let api: ListeningApi;
  let owner: TestAccount;
  let repositoryDir: string;
  let root: string;
  const docker = new Docker({ socketPath: testEnv().DOCKER_SOCKET });
  const runtime = new DockerContainerRuntime(docker);
  const repository = () => new ResticBackupRepository({ repository: repositoryDir, password: harness.config.backups.password, commandTimeoutMs: 60_000, childPath: CHILD_PATH });
  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) => api.app.inject({ method, url, headers: withToken(owner), ...(payload ? { payload } : {}) });
  const loginAs = async (serverId: string, domain: string, user: typeof ALICE) => {
    const c2s = await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId, purpose: 'c2s' } });
    return connectAs({ host: '127.0.0.1', port: c2s.port, domain, ...user, trustedCaPems: [root], timeoutMs: 10_000, resource: `r${Date.now()}` });
  };

  beforeAll(async () => {
    repositoryDir = join(await mkdtemp(join(tmpdir(), 'parley-deletion-grace-')), 'repository');
    harness = await ProvisioningHarness.create(27_000, {
      configure: (config) => ({ ...config, backups: { ...config.backups, repository: repositoryDir, scheduleIntervalMs: 0, deletionGraceMs: GRACE_MS } }),
    });
    await harness.startWorker();
    api = await startPlatformApi(harness);
    owner = await signUpThrough(api.app, harness.prisma);
    root = (await pebbleIssuers()).root.toString();
  });

  afterAll(async () => {
    await api?.close();
    await harness?.close();
    await rm(join(repositoryDir, '..'), { recursive: true, force: true });
  });

  it('deletes, lists the server as restorable, undoes the deletion, and the old accounts and archive are there', async () => {
    const ordered = await call('POST', '/api/v1/servers', { name: `g${Date.now().toString(36)}`, federation: false });
    expect(ordered.statusCode, ordered.body).toBe(202);
    const { id: serverId, name, domain } = ordered.json<{ id: string; name: string; domain: string }>();
    await harness.waitForState(serverId, 'ready');
    for (const user of [ALICE, BOB]) await prosodyCreateOrUpdateUser(runtime, serverId, { ...user, domain });
    await deliverMessage((username, password) => loginAs(serverId, domain, { username, password }), ALICE, BOB, 'written before the deletion');
    const room = `lobby@conference.${domain}`;
    const chatting = await loginAs(serverId, domain, ALICE);
    try {
      await joinRoom(chatting, room, 'alice');
      await makeRoomPersistent(chatting, room);
      await sendGroupMessage(chatting, room, 'said in the group before the deletion');
      await until('the group message archived', async () => ((await wholeArchive(chatting, { archive: room })).length > 0 ? true : null), 20_000);
    } finally {
      await chatting.close();
    }

    const deleted = await call('DELETE', `/api/v1/servers/${serverId}`, { confirm: name });
    expect(deleted.statusCode, deleted.body).toBe(202);
    await harness.waitForState(serverId, 'deleted', 90_000);
    const gone = await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } });
    expect(gone.purgeAfter?.getTime()).toBeGreaterThan(Date.now() + GRACE_MS - 120_000);
    expect((await runtime.listOwned(serverId)).containers, 'the container and its volumes are removed').toEqual([]);
    const final = await harness.prisma.serverBackup.findUniqueOrThrow({ where: { id: gone.finalBackupId ?? '' } });
    expect(final).toMatchObject({ kind: 'final', status: 'succeeded' });
    const snapshots = await repository().snapshots(serverSnapshotTag(serverId));
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]?.id.startsWith(final.snapshotId ?? '-')).toBe(true);
    expect((await call('GET', `/api/v1/servers/${serverId}`)).statusCode).toBe(404);
    const listed = (await call('GET', '/api/v1/deleted-servers')).json<{ items: { id: string; restorable: boolean; restorableUntil: string }[] }>();
    expect(listed.items).toEqual([expect.objectContaining({ id: serverId, restorable: true, restorableUntil: gone.purgeAfter?.toISOString() })]);

    const undone = await call('POST', `/api/v1/deleted-servers/${serverId}/restore`);
    expect(undone.statusCode, undone.body).toBe(202);
    await harness.waitForState(serverId, 'ready', 120_000);
    const back = await loginAs(serverId, domain, ALICE);
    try {
      expect(await wholeArchive(back)).toContain('written before the deletion');
      await joinRoom(back, room, 'alice');
      expect(await wholeArchive(back, { archive: room }), "the group chat's history is back too").toEqual(['said in the group before the deletion']);
    } finally {
      await back.close();
    }
    const restored = await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } });
    expect(restored).toMatchObject({ deletedAt: null, restoreBackupId: null, finalBackupId: null, purgeAfter: null });
    // The old admin password was wiped with the deletion: a new one is issued, and it works.
    const admin = await harness.adminPassword(serverId);
    const session = await loginAs(serverId, domain, { username: 'admin', password: admin.password });
    await session.close();
    expect((await call('GET', '/api/v1/deleted-servers')).json<{ items: unknown[] }>().items).toEqual([]);

    // Its container removed behind Parley's back, then deleted again: the data volume is still
    // there, and the final backup is read from it.
    await docker.getContainer(containerName(serverId)).remove({ force: true });
    expect((await call('DELETE', `/api/v1/servers/${serverId}`, { confirm: name })).statusCode).toBe(202);
    await harness.waitForState(serverId, 'deleted', 90_000);
    const second = await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } });
    expect(await harness.prisma.serverBackup.findUniqueOrThrow({ where: { id: second.finalBackupId ?? '' } })).toMatchObject({ kind: 'final', status: 'succeeded' });
    expect((await call('GET', '/api/v1/deleted-servers')).json<{ items: { id: string; restorable: boolean }[] }>().items).toEqual([expect.objectContaining({ id: serverId, restorable: true })]);
    expect((await docker.listContainers({ all: true, filters: { name: [`${containerName(serverId)}-reader`] } })).length, 'the reader container is gone').toBe(0);

    // The grace period over: the next tick purges its backups for good.
    await harness.prisma.server.update({ where: { id: serverId }, data: { purgeAfter: new Date(Date.now() - 1_000) } });
    await (await harness.startWorker()).queue.add(BACKUP_SCHEDULE_JOB, {});
    await until('the purge', async () => (await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } })).purgedAt);
    expect(await repository().snapshots(serverSnapshotTag(serverId))).toEqual([]);
    expect(await harness.prisma.serverBackup.count({ where: { serverId, status: { not: 'forgotten' } } })).toBe(0);
    expect((await call('POST', `/api/v1/deleted-servers/${serverId}/restore`)).statusCode).toBe(404);
  }, 420_000);
});
