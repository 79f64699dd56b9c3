import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName, DockerContainerRuntime } from '../../worker/src/adapters/docker.container-runtime.js';
import { ResticBackupRepository } from '../../worker/src/adapters/restic.backup-repository.js';
import { serverSnapshotTag } from '../../worker/src/backups/server-snapshot.js';
import { BACKUP_SCHEDULE_JOB } from '../../worker/src/contracts/provisioning.js';
import { enqueueAdminReset, enqueueHealthChecks, enqueueServerBackup, enqueueServerRestore } from '../../worker/src/contracts/provisioning-flow.js';
import { prosodyCreateOrUpdateUser } from '../../worker/src/provisioning/prosody-accounts.js';
import type { BackupKind } from '../../prisma/generated/client/enums.js';
import { pebbleIssuers } from '../support/pebble.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { testEnv } from '../support/test-env.js';
import { connectAs, joinRoom, sendGroupMessage, sendMessage, wholeArchive } from '../support/xmpp.js';
import { until } from '../support/until.js';

const CHILD_PATH = '/usr/local/bin:/usr/bin:/bin';
const PASSWORD = { alice: 'alice: a password of her own', bob: 'bob: kept in the backup' };
/** The writer sends at most this many messages of each kind, for at most this long. */
const WRITER_MAX_MESSAGES = 3_000;
const WRITER_MAX_MS = 60_000;

/** `m1, m2, …` → the number of the last one, checking that they are exactly 1..n in order. */
function prefixLength(bodies: string[], prefix: string): number {
  const numbers = bodies.filter((b) => b.startsWith(prefix)).map((b) => Number(b.slice(prefix.length)));
  numbers.forEach((n, i) => expect(n, `archived ${prefix}${n} at position ${i + 1}: a record is missing or torn`).toBe(i + 1));
  return numbers.length;
}

// One server's backups, in order: each test counts on the snapshots and rows the ones before made.
describe('server backups: restic snapshots of the data volume, taken while clients write, restored in place', { shuffle: false }, () => {
  let harness: ProvisioningHarness;
  let repositoryDir: string;
  let serverId: string;
  let domain: string;
  let c2sPort: number;
  let root: string;
  const docker = new Docker({ socketPath: testEnv().DOCKER_SOCKET });
  const runtime = new DockerContainerRuntime(docker);
  const repository = () => new ResticBackupRepository({ repository: repositoryDir, password: harness.config.backups.password, commandTimeoutMs: 60_000, childPath: CHILD_PATH });
  const queue = async () => (await harness.startWorker()).queue;
  const login = (username: keyof typeof PASSWORD) =>
    connectAs({ host: '127.0.0.1', port: c2sPort, domain, username, password: PASSWORD[username], trustedCaPems: [root], timeoutMs: 10_000, resource: `r${randomUUID().slice(0, 8)}` });
  const room = () => `lobby@conference.${domain}`;

  const backupSettled = (backupId: string) =>
    until(`backup ${backupId}`, async () => {
      const row = await harness.prisma.serverBackup.findUniqueOrThrow({ where: { id: backupId } });
      return row.status === 'succeeded' || row.status === 'failed' ? row : undefined;
    }, 90_000);
  /** As the API does: the row, then its job. */
  const backUp = async (kind: BackupKind = 'on_demand') => {
    const row = await harness.prisma.serverBackup.create({ data: { serverId, kind } });
    await enqueueServerBackup(await queue(), { serverId, backupId: row.id });
    return row.id;
  };
  const restore = async (backupId: string) => {
    const requestId = randomUUID();
    await enqueueServerRestore(await queue(), { serverId, backupId, requestId });
    const ofThisRestore = { serverId, step: 'restore', jobId: { contains: requestId } };
    await until(`restore ${requestId}`, async () => (await harness.prisma.provisioningEvent.findFirst({ where: { ...ofThisRestore, status: 'succeeded' } })) ?? undefined, 90_000);
    expect(await harness.prisma.provisioningEvent.findMany({ where: { ...ofThisRestore, status: 'failed' } }), 'the restore succeeded at its first attempt').toEqual([]);
    await harness.waitForState(serverId, 'ready');
    return requestId;
  };

  beforeAll(async () => {
    repositoryDir = join(await mkdtemp(join(tmpdir(), 'parley-server-backups-')), 'repository');
    harness = await ProvisioningHarness.create(26_000, {
      configure: (config) => ({ ...config, backups: { ...config.backups, repository: repositoryDir, scheduleIntervalMs: 0 } }),
    });
    ({ serverId, domain } = await harness.placeOrder({ federation: false }));
    await harness.provision(serverId);
    await harness.waitForState(serverId, 'ready');
    c2sPort = (await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId, purpose: 'c2s' } })).port;
    root = (await pebbleIssuers()).root.toString();
    for (const username of ['alice', 'bob'] as const) await prosodyCreateOrUpdateUser(runtime, serverId, { username, domain, password: PASSWORD[username] });
  });

  afterAll(async () => {
    await harness.deprovision(serverId);
    await harness.waitForState(serverId, 'deleted', 60_000);
    await harness.close();
    await rm(join(repositoryDir, '..'), { recursive: true, force: true });
  });

  it('backs up while a client writes chats and group chat; restoring gives exactly what was written up to then, and the safety backup undoes it', async () => {
    const alice = await login('alice');
    let sent = 0;
    let writing = true;
    let writer: Promise<void> = Promise.resolve();
    let backups: string[] = [];
    try {
      await joinRoom(alice, room(), 'alice');
      const started = Date.now();
      writer = (async () => {
        while (writing && sent < WRITER_MAX_MESSAGES && Date.now() - started < WRITER_MAX_MS) {
          sent++;
          await sendMessage(alice, `bob@${domain}`, `m${sent}`);
          await sendGroupMessage(alice, room(), `g${sent}`);
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      // Two backups in a row while the messages keep coming.
      await new Promise((r) => setTimeout(r, 500));
      for (let i = 0; i < 2; i++) backups.push(await backUp());
      for (const id of backups) expect((await backupSettled(id)).status).toBe('succeeded');
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      writing = false;
      await writer;
      await alice.close();
    }
    const rows = await harness.prisma.serverBackup.findMany({ where: { id: { in: backups } } });
    for (const row of rows) {
      expect(row.snapshotId).toMatch(/^[0-9a-f]{8,64}$/);
      expect(Number(row.sizeBytes)).toBeGreaterThan(0);
      expect(row.pausedMs, 'the server was frozen while its data was read').toBeGreaterThanOrEqual(0);
    }
    expect(await repository().snapshots(serverSnapshotTag(serverId))).toHaveLength(2);

    const before = await login('alice');
    const everything = prefixLength(await wholeArchive(before), 'm');
    await before.close();
    expect(everything).toBe(sent);

    await enqueueAdminReset(await queue(), serverId, 2);
    await until('the admin password reset', async () => ((await harness.prisma.serverCredential.findFirst({ where: { serverId, issuance: 2, appliedAt: { not: null } } })) ? true : undefined), 90_000);
    const requestId = await restore(backups[1] ?? '');
    const after = await login('alice');
    let restored: number;
    let restoredRoom: number;
    try {
      restored = prefixLength(await wholeArchive(after), 'm');
      await joinRoom(after, room(), 'alice');
      restoredRoom = prefixLength(await wholeArchive(after, { archive: room() }), 'g');
    } finally {
      await after.close();
    }
    expect(restored, 'the backup was taken mid-way: it holds some messages, not all').toBeGreaterThan(0);
    expect(restored).toBeLessThan(sent);
    expect(restoredRoom).toBeGreaterThan(0);
    const bob = await login('bob');
    expect(prefixLength(await wholeArchive(bob), 'm'), "bob's archive holds what he was sent up to the backup").toBeGreaterThan(0);
    await bob.close();
    // The admin password was reset after the backup: the restore sets the one Parley holds again.
    const admin = await connectAs({ host: '127.0.0.1', port: c2sPort, domain, username: 'admin', password: (await harness.adminPassword(serverId)).password, trustedCaPems: [root], timeoutMs: 10_000 });
    await admin.close();

    // The restore kept the data it replaced: restoring that brings every message back.
    const safety = await harness.prisma.serverBackup.findUniqueOrThrow({ where: { id: requestId } });
    expect(safety).toMatchObject({ kind: 'safety', status: 'succeeded' });
    await restore(safety.id);
    const undone = await login('alice');
    expect(prefixLength(await wholeArchive(undone), 'm')).toBe(sent);
    await undone.close();
    backups = [];
  }, 300_000);

  it('keeps only what the plan keeps: the scheduler takes the due backup, forgets the rest in restic, and marks their rows', async () => {
    const plan = await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId }, select: { planId: true } });
    await harness.prisma.plan.update({ where: { id: plan.planId }, data: { backupKeepLast: 1, backupKeepDaily: 1, backupKeepWeekly: 0 } });
    // A day later, as far as the schedule can tell.
    const dayAgo = new Date(Date.now() - 86_400_000 - 60_000);
    await harness.prisma.serverBackup.updateMany({ where: { serverId }, data: { requestedAt: dayAgo } });
    const before = await harness.prisma.serverBackup.count({ where: { serverId } });
    await (await queue()).add(BACKUP_SCHEDULE_JOB, {});
    const scheduled = await until('the scheduled backup', async () => (await harness.prisma.serverBackup.findFirst({ where: { serverId, kind: 'scheduled' } })) ?? undefined, 90_000);
    expect((await backupSettled(scheduled.id)).status).toBe('succeeded');
    expect(await harness.prisma.serverBackup.count({ where: { serverId } })).toBe(before + 1);

    // A later tick finds more backups than the plan keeps (a tick whose forget met the backup's
    // lock leaves it to the next one, so the test ticks every few seconds as the scheduler would).
    let lastTick = 0;
    await until('retention', async () => {
      if ((await harness.prisma.serverBackup.count({ where: { serverId, status: 'succeeded' } })) === 1) return true;
      if (Date.now() - lastTick > 5_000) {
        lastTick = Date.now();
        await (await queue()).add(BACKUP_SCHEDULE_JOB, {});
      }
      return undefined;
    }, 90_000);
    const kept = await repository().snapshots(serverSnapshotTag(serverId));
    expect(kept).toHaveLength(1);
    expect(kept[0]?.id.startsWith((await harness.prisma.serverBackup.findUniqueOrThrow({ where: { id: scheduled.id } })).snapshotId ?? '-')).toBe(true);
    expect(await harness.prisma.serverBackup.count({ where: { serverId, status: 'forgotten' } })).toBe(before);
  }, 180_000);

  it('a repository that cannot be reached: the backup fails visibly and is retried, the server keeps answering, and it succeeds once the repository is back', async () => {
    const away = `${repositoryDir}.away`;
    await rename(repositoryDir, away);
    await writeFile(repositoryDir, 'not a repository: the storage is unreachable\n');
    let backupId: string;
    try {
      backupId = await backUp();
      const failed = await until('a failed attempt', async () => {
        const event = await harness.prisma.provisioningEvent.findFirst({ where: { serverId, step: 'backup', status: 'failed', jobId: `backup.${backupId}` } });
        return event ?? undefined;
      }, 90_000);
      expect(failed).toMatchObject({ willRetry: true, errorType: 'backup_repository_unavailable' });
      const row = await harness.prisma.serverBackup.findUniqueOrThrow({ where: { id: backupId } });
      expect(row).toMatchObject({ status: 'queued', lastErrorType: 'backup_repository_unavailable' });
      expect(row.lastError).toContain(repositoryDir);
      const alice = await login('alice');
      await alice.close();
    } finally {
      await rm(repositoryDir, { force: true });
      await rename(away, repositoryDir);
    }
    const settled = await backupSettled(backupId);
    expect(settled).toMatchObject({ status: 'succeeded', lastError: null });
    expect(settled.attempts).toBeGreaterThan(1);
  }, 180_000);

  it('a container left frozen by a worker that died mid-backup is thawed by the health check', async () => {
    await docker.getContainer(containerName(serverId)).pause();
    await enqueueHealthChecks(await queue(), [serverId]);
    await until('the container thawed', async () => ((await runtime.listOwned(serverId)).containers[0]?.state === 'running' ? true : undefined), 60_000);
    const alice = await login('alice');
    await alice.close();
  }, 90_000);

  it('a restore that finds the server being deleted fails for good and leaves the state to the deletion', async () => {
    const backup = await harness.prisma.serverBackup.findFirstOrThrow({ where: { serverId, status: 'succeeded' } });
    await harness.prisma.server.update({ where: { id: serverId }, data: { desiredState: 'deleted' } });
    try {
      const requestId = randomUUID();
      await enqueueServerRestore(await queue(), { serverId, backupId: backup.id, requestId });
      const failed = await until('the refused restore', async () => (await harness.prisma.provisioningEvent.findFirst({ where: { serverId, step: 'restore', status: 'failed', jobId: { contains: requestId } } })) ?? undefined, 90_000);
      expect(failed).toMatchObject({ willRetry: false, errorType: 'permanent', message: 'The server is being deleted; it can no longer be restored.' });
      expect((await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } })).state).toBe('ready');
    } finally {
      await harness.prisma.server.update({ where: { id: serverId }, data: { desiredState: 'running' } });
    }
  }, 60_000);
});
