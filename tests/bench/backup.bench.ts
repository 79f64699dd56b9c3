import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { xml } from '@xmpp/client';
import Docker from 'dockerode';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { containerName, DockerContainerRuntime } from '../../worker/src/adapters/docker.container-runtime.js';
import { RESTIC_COMMAND_TIMEOUT_MS } from '../../worker/src/adapters/restic.backup-repository.js';
import { PROVISIONING_QUEUE } from '../../worker/src/contracts/provisioning.js';
import { loadWorkerConfig } from '../../worker/src/config.js';
import { checkXmpp } from '../../worker/src/healing/xmpp-check.js';
import { prosodyCreateOrUpdateUser } from '../../worker/src/provisioning/prosody-accounts.js';
import { pebbleIssuers } from '../support/pebble.js';
import { signUpOperator, signUpWithToken, startPlatformApi } from '../support/platform-api.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { testEnv } from '../support/test-env.js';
import { until } from '../support/until.js';
import { PlatformProcess } from '../support/platform-process.js';
import { uploadIntact, uploadRandomFile } from '../support/http-upload.js';
import { connectAs, sendMessage, sendPresence, wholeArchive, type XmppSession } from '../support/xmpp.js';
import { pooled } from './shared/stats.js';
import { serverTimeline } from './shared/api-orders.js';

// What a customer sees of per-server backups: how long "back up now" takes until the list says
// succeeded (a full one, then an incremental one), what each adds to the repository, and how soon
// after "restore" a client logs in again with every archived message back. The worker runs as its
// own process with production settings (the defaults of worker/src/config.ts); the API is the real
// one, over HTTP.
const USERS = 100;
const MESSAGES_PER_USER = 100;
const MESSAGES = USERS * MESSAGES_PER_USER;
const LATE_MESSAGES = USERS;
// Below Linux's ephemeral range (32768+), apart from every other bench's and test's range.
const PORT_RANGE_START = 24_000;
const PORT_RANGE_END = 24_399;
const POLL_MS = 25;
const CLIENT_WIDTH = 10;
const SEED_WIDTH = 4;
const TARGETS = { full: 10_000, incremental: 3_000, restoreToLogin: 15_000 };
/** The node the server moves to: another loopback address of this machine, sharing the range (so the ports, and the upload links, stay). */
const NODE_B = { name: 'bench-backup-b', publicAddress: '127.0.0.2', portRangeStart: PORT_RANGE_START, portRangeEnd: PORT_RANGE_END };
const UPLOADS = 5;
const UPLOAD_BYTES = 256 * 1024;

const describe = (error: unknown) => (error instanceof Error ? error.message || (error.stack ?? error.name) : String(error));
const run = promisify(execFile);

async function directoryBytes(path: string): Promise<number> {
  const { stdout } = await run('du', ['-sb', path]);
  return Number(stdout.split('\t')[0]);
}

const username = (index: number) => `user${index}`;
/** User i writes to user i+1, so every user is written to, by exactly one sender. */
const senderOf = (index: number) => (index + USERS - 1) % USERS;
const recipientOf = (index: number) => (index + 1) % USERS;
/** The first word of every body names its batch, sender and number, e.g. `m7:42`. */
const key = (batch: string, sender: number, n: number) => `${batch}${sender}:${n}`;

/**
 * Sends and waits until the server has taken it: Prosody handles a session's stanzas in order, so
 * the answer to a ping sent after the message comes once the message is routed and archived. A
 * client that wrote without waiting would queue thousands of stanzas in the server, which then
 * misses the worker's health check (SERVER_CHECK_TIMEOUT_MS) and is restarted, dropping every session.
 */
async function send(session: XmppSession, domain: string, to: string, body: string): Promise<void> {
  await sendMessage(session, to, body);
  await session.xmpp.iqCaller.request(xml('iq', { type: 'get', to: domain }, xml('ping', { xmlns: 'urn:xmpp:ping' })), 30_000);
}

/** The distinct messages of `batch` in the user's archive that the user received. */
async function received(session: XmppSession, index: number, batch: string): Promise<number> {
  const prefix = `${batch}${senderOf(index)}:`;
  const bodies = await wholeArchive(session);
  return new Set(bodies.map((body) => body.split(' ')[0] ?? '').filter((word) => word.startsWith(prefix))).size;
}

type BackupRow = { id: string; kind: string; status: string; startedAt: string | null; finishedAt: string | null; sizeBytes: number | null; addedBytes: number | null; pausedMs: number | null; error: string | null };
type ServerView = { state: string; domain: string; connection: { ports: { starttls: number } } | null; incidents: { kind: string; status: string; openedAt: string }[] };
async function main(): Promise<void> {
  const repositoryDir = join(await mkdtemp(join(tmpdir(), 'parley-bench-backup-')), 'repository');
  // The harness's in-process worker only deletes the server if the API could not: on this repository too.
  const harness = await ProvisioningHarness.create(PORT_RANGE_START, {
    configure: (config) => ({ ...config, backups: { ...config.backups, repository: repositoryDir } }),
  });
  const production = loadWorkerConfig();
  const docker = new Docker({ socketPath: testEnv().DOCKER_SOCKET });
  const runtime = new DockerContainerRuntime(docker);
  const api = await startPlatformApi(harness);
  const worker = PlatformProcess.worker({
    DATABASE_URL: harness.db.url,
    REDIS_URL: harness.redis.url,
    NODE_NAME: harness.config.node.name,
    NODE_PORT_RANGE: `${PORT_RANGE_START}-${PORT_RANGE_END}`,
    BACKUP_REPOSITORY: repositoryDir,
  });
  const connection = new Redis(harness.redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue(PROVISIONING_QUEUE, { connection });
  const sessions: XmppSession[] = [];
  const closeSessions = async () => {
    await Promise.all(sessions.splice(0).map((session) => session.close()));
  };
  let serverId: string | undefined;
  let deleteViaApi: (() => Promise<boolean>) | undefined;
  try {
    const roots = [(await pebbleIssuers()).root.toString()];
    const request = await signUpWithToken(api.url);
    const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const response = await request(method, path, body);
      if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    };

    const order = await call<{ id: string; name: string }>('POST', '/servers', { name: `bak${randomBytes(3).toString('hex')}`, federation: false });
    serverId = order.id;
    const id = order.id;
    deleteViaApi = async () => {
      await call('DELETE', `/servers/${id}`, { confirm: order.name });
      return until('the server is deleted', async () => {
        const response = await request('GET', `/servers/${id}`);
        if (response.status === 404) return true;
        return ((await response.json()) as ServerView).state === 'deleted' ? true : undefined;
      }, 120_000, 250);
    };
    const view = () => call<ServerView>('GET', `/servers/${id}`);
    const server = await until('the server is ready', async () => {
      const v = await view();
      if (v.state === 'failed') throw new Error(`the server failed to provision: ${JSON.stringify(v)}`);
      return v.state === 'ready' ? v : undefined;
    }, 180_000, 250);
    const domain = server.domain;

    const passwords = Array.from({ length: USERS }, () => `pw-${randomUUID()}`);
    const seedStart = performance.now();
    await pooled(USERS, SEED_WIDTH, (i) => prosodyCreateOrUpdateUser(runtime, id, { username: username(i), domain, password: passwords[i] ?? '' }));
    const seedMs = performance.now() - seedStart;
    // PLAIN over the TLS session verified against Pebble's root, which Prosody checks natively:
    // this client library's SCRAM spends ~600 ms of the bench's CPU on every login.
    let address = '127.0.0.1';
    let port = server.connection?.ports.starttls ?? 0;
    const login = (i: number) =>
      connectAs({ host: address, port, domain, username: username(i), password: passwords[i] ?? '', trustedCaPems: roots, timeoutMs: 10_000, resource: `bench${randomBytes(3).toString('hex')}`, preferPlain: true });

    /** The first login of user 1 once `ready` says it can reach the server (polled). */
    const loginOnce = (what: string, timeoutMs: number, ready: () => Promise<boolean>) =>
      until(what, async () => {
        if (!(await ready())) return undefined;
        return login(1).catch(() => undefined);
      }, timeoutMs, POLL_MS);

    const writeStart = performance.now();
    sessions.push(...(await pooled(USERS, CLIENT_WIDTH, login)));
    const sessionOf = (i: number) => {
      const session = sessions[i];
      if (!session) throw new Error(`no session for ${username(i)}`);
      return session;
    };
    // The sessions die with the container: a failure while they are in use says whether the
    // worker restarted the server meanwhile.
    const withIncidents = <T>(what: string, work: Promise<T>): Promise<T> =>
      work.catch(async (error: unknown) => {
        const incidents = (await view()).incidents.map((incident) => `${incident.kind} at ${incident.openedAt} (${incident.status})`);
        throw new Error(`${what}: ${describe(error)}; the server's incidents: ${incidents.join(', ') || 'none'}`);
      });
    await Promise.all(sessions.map((session) => sendPresence(session)));
    const filler = 'a message long enough to look like a chat line, with a little more text after it';
    await withIncidents(
      'writing the messages',
      pooled(USERS, CLIENT_WIDTH, async (i) => {
        for (let n = 1; n <= MESSAGES_PER_USER; n++) await send(sessionOf(i), domain, `${username(recipientOf(i))}@${domain}`, `${key('m', i, n)} ${filler}`);
      }),
    );
    const uploads = await withIncidents(
      'uploading files',
      Promise.all(Array.from({ length: UPLOADS }, (_, n) => uploadRandomFile(sessionOf(n), domain, address, roots, `photo-${n}.jpg`, UPLOAD_BYTES))),
    );
    const uploadsIntact = async () => (await Promise.all(uploads.map((file) => uploadIntact(file, address, roots)))).filter(Boolean).length;
    const archivedCount = (batch: string) => pooled(USERS, CLIENT_WIDTH, (i) => received(sessionOf(i), i, batch)).then((counts) => counts.reduce((a, b) => a + b, 0));
    const messagesWritten = await withIncidents(
      'counting the archived messages',
      until('every message is archived', async () => {
        const count = await archivedCount('m');
        return count === MESSAGES ? count : undefined;
      }, 60_000, 500),
    );
    const writeMs = performance.now() - writeStart;

    // Each timed backup starts on a settled node: no job running or waiting (the worker's own
    // start-up jobs, the platform database's backup among them, hold restic's lock meanwhile).
    const settled = () =>
      until('a settled node: no job running or waiting', async () => {
        const counts = await queue.getJobCounts('active', 'waiting', 'prioritized');
        return Object.values(counts).every((count) => count === 0) ? true : undefined;
      }, 120_000, 250);
    const backUp = async (what: string) => {
      await settled();
      const before = await directoryBytes(repositoryDir);
      const t0 = performance.now();
      const row = await call<BackupRow>('POST', `/servers/${id}/backups`);
      const done = await until(`${what} succeeds`, async () => {
        const item = (await call<{ items: BackupRow[] }>('GET', `/servers/${id}/backups`)).items.find((b) => b.id === row.id);
        if (item?.status === 'failed') throw new Error(`${what} failed: ${item.error ?? '(no reason)'}`);
        return item?.status === 'succeeded' ? item : undefined;
      }, 180_000, POLL_MS);
      const ms = performance.now() - t0;
      const after = await directoryBytes(repositoryDir);
      return { row: done, ms, repoBefore: before, repoAfter: after, repoGrowth: after - before };
    };

    const full = await backUp('the full backup');
    await withIncidents(
      'writing the later messages',
      Promise.all(Array.from({ length: USERS }, (_, i) => send(sessionOf(i), domain, `${username(recipientOf(i))}@${domain}`, `${key('late', i, 1)} ${filler}`))),
    );
    await withIncidents('counting the later messages', until('every late message is archived', async () => ((await archivedCount('late')) === LATE_MESSAGES ? true : undefined), 60_000, 500));
    const incremental = await backUp('the incremental backup');
    await closeSessions();

    const oldContainer = (await docker.getContainer(containerName(id)).inspect()).Id;
    const t0 = performance.now();
    await call('POST', `/servers/${id}/backups/${full.row.id}/restore`);
    // A login counts once it reaches the new container: until the restore replaces it, the old
    // one keeps answering (a safety backup is taken first).
    const firstLogin = await loginOnce('a client logs in to the restored server', 120_000, async () => {
      const info = await docker.getContainer(containerName(id)).inspect().catch(() => undefined);
      if (!info || info.Id === oldContainer || !info.State.Running) return false;
      return (await checkXmpp({ host: address, port, domain, timeoutMs: 1_000 })).answers;
    });
    const restoreToLoginMs = performance.now() - t0;
    await firstLogin.close();
    await until('the API shows the server ready again', async () => ((await view()).state === 'ready' ? true : undefined), 60_000, POLL_MS);
    const restoreToReadyMs = performance.now() - t0;
    const timeline = () => serverTimeline(request, id);
    const restoreEvent = (await timeline()).filter((e) => e.step === 'restore').at(-1);
    if (restoreEvent?.status !== 'succeeded') throw new Error(`the restore's timeline event is ${restoreEvent?.status ?? 'missing'}: ${restoreEvent?.message ?? ''}`);
    const safety = (await call<{ items: BackupRow[] }>('GET', `/servers/${id}/backups`)).items.find((b) => b.kind === 'safety');
    const safetyMs = safety?.startedAt && safety.finishedAt ? Date.parse(safety.finishedAt) - Date.parse(safety.startedAt) : NaN;

    sessions.push(...(await pooled(USERS, CLIENT_WIDTH, login)));
    const messagesRestored = await archivedCount('m');
    const uploadsRestored = await uploadsIntact();
    const lateRestored = await archivedCount('late');
    await closeSessions();

    // An operator moves the server to a second node (registered on this machine as a second
    // address); timed from the request until a client logs in at the new address.
    const operator = await signUpOperator(api.url, harness.prisma);
    const nodeB = await harness.prisma.node.create({
      data: { ...NODE_B, hostname: `${NODE_B.name}.${harness.config.platformZone}`, dockerEndpoint: `unix://${harness.config.docker.socketPath}` },
    });
    await settled();
    const m0 = performance.now();
    const moveRequest = await operator('POST', '/operator/moves', { serverId: id, nodeId: nodeB.id });
    if (moveRequest.status !== 202) throw new Error(`POST /operator/moves: ${moveRequest.status} ${await moveRequest.text()}`);
    address = NODE_B.publicAddress;
    const movedLogin = await loginOnce('a client logs in at the new node', 180_000, async () => {
      const v = await view();
      if (v.state !== 'ready' || !v.connection) return false;
      port = v.connection.ports.starttls;
      return true;
    });
    const moveToLoginMs = performance.now() - m0;
    await movedLogin.close();
    const moveEvent = (await timeline()).filter((e) => e.step === 'move').at(-1);
    if (moveEvent?.status !== 'succeeded' || moveEvent.downtimeMs === null) throw new Error(`the move's timeline event is ${moveEvent?.status ?? 'missing'}: ${moveEvent?.message ?? ''}`);
    sessions.push(...(await pooled(USERS, CLIENT_WIDTH, login)));
    const messagesMoved = await archivedCount('m');
    const uploadsMoved = await uploadsIntact();
    await closeSessions();

    const result = {
      full_backup_ms: Math.round(full.ms),
      incremental_backup_ms: Math.round(incremental.ms),
      restore_to_login_ms: Math.round(restoreToLoginMs),
      messages_written: messagesWritten,
      messages_restored: messagesRestored,
      repo_bytes_full: full.repoGrowth,
      repo_bytes_incremental: incremental.repoGrowth,
      added_bytes_full: full.row.addedBytes,
      added_bytes_incremental: incremental.row.addedBytes,
      paused_ms_full: full.row.pausedMs,
      paused_ms_incremental: incremental.row.pausedMs,
      move_to_login_ms: Math.round(moveToLoginMs),
      move_downtime_ms: moveEvent.downtimeMs,
      messages_after_move: messagesMoved,
      uploads_restored: uploadsRestored,
      uploads_after_move: uploadsMoved,
    };
    const restic = (await run('restic', ['version'])).stdout.trim();
    const settings = {
      worker: 'own process, production defaults',
      LOG_LEVEL: production.logLevel,
      WORKER_CONCURRENCY: production.jobs.concurrency,
      RECONCILE_INTERVAL_MS: production.jobs.reconcileIntervalMs,
      SERVER_CHECK_TIMEOUT_MS: production.jobs.healthCheckTimeoutMs,
      BACKUP_SCHEDULE_INTERVAL_MS: production.backups.scheduleIntervalMs,
      DATABASE_BACKUP_INTERVAL_MS: production.backups.databaseIntervalMs,
      SERVICE_START_TIMEOUT_MS: production.timeouts.serviceStartMs,
      restic_command_timeout_ms: RESTIC_COMMAND_TIMEOUT_MS,
      restic,
      NODE_PORT_RANGE: `${PORT_RANGE_START}-${PORT_RANGE_END}`,
      api_poll_ms: POLL_MS,
      users: USERS,
      messages: MESSAGES,
      uploads: UPLOADS,
      upload_bytes: UPLOAD_BYTES,
    };
    console.log('Backup benchmark (sandbox: Docker, PowerDNS, Pebble, restic on this machine)');
    console.log(`  settings: ${Object.entries(settings).map(([key, value]) => `${key}=${value}`).join(', ')}`);
    console.log(`  NODE_PORT_RANGE=${PORT_RANGE_START}-${PORT_RANGE_END}; BACKUP_REPOSITORY=${repositoryDir} (a new local restic repository; BACKUP_PASSWORD from the environment); API over HTTP, polled every ${POLL_MS} ms`);
    console.log(
      `  data: one team-plan server, ${USERS} users (prosodyctl, ${Math.round(seedMs / 1000)} s), ${MESSAGES} chat messages user i → user i+1 (${MESSAGES_PER_USER} each) from ${USERS} logged-in clients, ${CLIENT_WIDTH} writing at a time, each waiting for a ping's answer before its next message, all archived (MAM) before the first backup (${Math.round(writeMs / 1000)} s); then ${LATE_MESSAGES} more (one per user) before the incremental backup; ${UPLOADS} files of ${UPLOAD_BYTES / 1024} KiB uploaded over XEP-0363 before the full backup, fetched back by their links (SHA-256 compared) after the restore and after the move`,
    );
    console.log(`  backups timed from POST /backups until GET /backups shows succeeded, each started with no worker job running or waiting; repository bytes: growth of \`du -sb\` of the repository directory across each backup (addedBytes: restic's own count in the backup row)`);
    console.log(`  restore timed from POST /restore of the full backup until a client logs in (PLAIN over verified TLS) to the new container as ${username(1)}; messages restored: distinct received messages in the ${USERS} users' MAM archives afterwards`);
    console.log(`  move timed from an operator's POST /operator/moves to node ${NODE_B.name} (${NODE_B.publicAddress}, ports ${NODE_B.portRangeStart}-${NODE_B.portRangeEnd}, on this machine) until ${username(1)} logs in there; the downtime is the worker's own (from the stop until XMPP answers on the new node), as GET /servers/{id}/events reports it`);
    const line = (what: string, value: string, target = '') => console.log(`  ${what.padEnd(52)} ${value.padStart(14)}   ${target}`);
    line('what', 'value', 'target');
    line('full backup (POST → succeeded)', `${result.full_backup_ms} ms`, `≤ ${TARGETS.full.toLocaleString('en')} ms`);
    line(`incremental backup (+${LATE_MESSAGES} messages)`, `${result.incremental_backup_ms} ms`, `≤ ${TARGETS.incremental.toLocaleString('en')} ms`);
    line('restore of the full backup → a client logs in', `${result.restore_to_login_ms} ms`, `≤ ${TARGETS.restoreToLogin.toLocaleString('en')} ms`);
    line('restore → the API shows ready', `${Math.round(restoreToReadyMs)} ms`);
    line('  of which the safety backup', `${Math.round(safetyMs)} ms`);
    line('server paused, full / incremental', `${result.paused_ms_full} / ${result.paused_ms_incremental} ms`);
    line('data read, full / incremental (sizeBytes)', `${full.row.sizeBytes} / ${incremental.row.sizeBytes} B`);
    line('repository growth, full (du -sb)', `${result.repo_bytes_full} B`);
    line('repository growth, incremental (du -sb)', `${result.repo_bytes_incremental} B`);
    line('added to the repository, full / incremental', `${result.added_bytes_full} / ${result.added_bytes_incremental} B`);
    line('repository size before / after both backups', `${full.repoBefore} / ${incremental.repoAfter} B`);
    line('messages written up to the full backup', String(messagesWritten));
    line('messages restored (MAM, after the restore)', String(messagesRestored), `= ${messagesWritten}`);
    line('later messages restored (must be 0)', String(lateRestored), '= 0');
    line('move to another node → a client logs in there', `${result.move_to_login_ms} ms`);
    line("  XMPP down during the move (the timeline's figure)", `${result.move_downtime_ms} ms`);
    line('messages after the move (MAM)', String(messagesMoved), `= ${messagesRestored}`);
    line('uploads served intact after the restore / the move', `${uploadsRestored} / ${uploadsMoved}`, `= ${UPLOADS}`);
    if (messagesRestored !== messagesWritten || lateRestored !== 0) {
      console.error(`bench:backup: the restore does not hold what was written up to the full backup: ${messagesRestored} of ${messagesWritten} messages, and ${lateRestored} written after it`);
      process.exitCode = 1;
    }
    if (uploadsRestored !== UPLOADS || uploadsMoved !== UPLOADS) {
      console.error(`bench:backup: uploads lost: ${uploadsRestored} of ${UPLOADS} intact after the restore, ${uploadsMoved} after the move`);
      process.exitCode = 1;
    }
    if (messagesMoved !== messagesRestored) {
      console.error(`bench:backup: the move lost messages: ${messagesMoved} of ${messagesRestored}`);
      process.exitCode = 1;
    }
    console.log(JSON.stringify({ ...result, settings }));
  } finally {
    await closeSessions();
    const deleted = deleteViaApi ? await deleteViaApi().catch(() => false) : true;
    await worker.stop().catch(() => undefined);
    if (!deleted && serverId) {
      await harness.deprovision(serverId);
      await harness.waitForState(serverId, 'deleted', 120_000).catch(() => undefined);
    }
    await queue.close();
    connection.disconnect();
    await api.close();
    await harness.close();
    await rm(join(repositoryDir, '..'), { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`bench:backup failed: ${describe(error)}`);
  process.exitCode = 1;
});
