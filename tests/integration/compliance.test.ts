import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerContainerRuntime } from '../../worker/src/adapters/docker.container-runtime.js';
import { defaultComplianceTools } from '../../worker/src/compliance/compliance-job.js';
import { CheckFailure, passed, type CheckResult, type ComplianceTarget } from '../../worker/src/compliance/compliance-check.js';
import { complianceChecks } from '../../worker/src/compliance/check-list.js';
import { runComplianceChecks } from '../../worker/src/compliance/run-compliance-checks.js';
import { COMPLIANCE_CHECK_IDS, COMPLIANCE_CHECKS, isComplianceAccount } from '../../worker/src/contracts/compliance.js';
import { enqueueComplianceCheck } from '../../worker/src/contracts/provisioning-flow.js';
import { complianceCheckJobId, complianceFollowUpJobId } from '../../worker/src/contracts/provisioning.js';
import { prosodyCreateOrUpdateUser, prosodyListUsers } from '../../worker/src/provisioning/prosody-accounts.js';
import { pebbleIssuers } from '../support/pebble.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { testEnv } from '../support/test-env.js';
import { until } from '../support/until.js';

// XEP-0479 (Compliance Suites 2023) against a real provisioned server: the checks the worker runs
// after every order, once directly (one test per XEP) and once as the job the probe step queues
// (its stored rows). Ports 46600-46999 (no other test file uses them).

const PORTS = 46_600;
/** How long after being queued a run may step aside for orders (production: 60 s). */
const YIELD_MAX_MS = 15_000;
const USERS = [
  { username: 'carol', password: 'compliance: carol has her own password' },
  { username: 'dave', password: 'compliance: dave has his own password' },
] as const;

describe('XEP-0479 compliance: the checks Parley runs against each server', () => {
  const env = testEnv();
  // The node's public address: the one the server advertises for STUN/TURN (reachable from here).
  const edge = env.SANDBOX_EDGE_ADDRESS;
  const runtime = new DockerContainerRuntime(new Docker({ socketPath: env.DOCKER_SOCKET }));
  let harness: ProvisioningHarness;
  let server: { serverId: string; domain: string };
  let target: ComplianceTarget;
  let admin: { username: string; password: string };
  let results: CheckResult[];
  let storedByJob: { checkId: string; passed: boolean; reason: string; detail: string; checkedAt: Date }[];

  const rows = () => harness.prisma.complianceResult.findMany({ where: { serverId: server.serverId }, orderBy: { checkId: 'asc' } });
  const allStored = async () => {
    const stored = await rows();
    return stored.length === COMPLIANCE_CHECK_IDS.length ? stored : null;
  };

  beforeAll(async () => {
    // As in production: the checks run by themselves once the server is ready.
    harness = await ProvisioningHarness.create(PORTS, { configure: (config) => ({ ...config, docker: { ...config.docker, publicAddress: edge }, jobs: { ...config.jobs, complianceAfterReady: true, complianceYieldMaxMs: YIELD_MAX_MS } }) });
    const root = (await pebbleIssuers()).root.toString();
    server = await harness.placeOrder({ federation: false });
    await harness.provision(server.serverId);
    await harness.waitForState(server.serverId, 'ready', 150_000);
    // The probe step queued the checks: the job stores a row per check.
    storedByJob = await until('the compliance job’s results', allStored, 150_000, 500);

    const ports = Object.fromEntries((await harness.prisma.portAllocation.findMany({ where: { serverId: server.serverId } })).map((a) => [a.purpose, a.port]));
    target = { domain: server.domain, host: edge, ports: { c2s: Number(ports.c2s), c2sDirectTls: Number(ports.c2s_direct_tls), https: Number(ports.https) }, trustedCaPems: [root] };
    const credential = await harness.adminPassword(server.serverId);
    admin = { username: credential.jid.split('@')[0] ?? 'admin', password: credential.password };
    for (const user of USERS) await prosodyCreateOrUpdateUser(runtime, server.serverId, { ...user, domain: server.domain });
    results = await runComplianceChecks({ target, admin, users: USERS, tools: defaultComplianceTools() });
  }, 330_000);

  afterAll(async () => {
    if (server) {
      await harness.deprovision(server.serverId);
      await harness.waitForState(server.serverId, 'deleted', 60_000);
    }
    await harness?.close();
  }, 90_000);

  // The previous test's runs (one may still be deleting its throwaway accounts) gone, so the run
  // watched is the one queued next.
  const noRunQueuedIn = (queue: Queue) =>
    until(
      'the previous runs gone from the queue',
      async () => ((await Promise.all([complianceCheckJobId(server.serverId), complianceFollowUpJobId(server.serverId)].map((id) => queue.getJob(id)))).every((j) => j === undefined) ? true : null),
      60_000,
      100,
    );

  const resultOf = (id: string) => {
    const result = results.find((r) => r.id === id);
    if (!result) throw new Error(`no result for ${id}`);
    return result;
  };

  for (const id of COMPLIANCE_CHECK_IDS) {
    const { spec, title } = COMPLIANCE_CHECKS[id];
    it(`${spec} ${title}`, () => {
      const result = resultOf(id);
      // The detail is in the comparison, so a failure says what the server answered.
      expect({ id, passed: result.passed, reason: result.reason, detail: result.detail }).toEqual({ id, passed: true, reason: 'ok', detail: result.detail });
      expect(result.durationMs).toBeLessThan(30_000);
    });
  }

  it('runs every check once, in the contracts’ order', () => {
    expect(results.map((r) => r.id)).toEqual(COMPLIANCE_CHECK_IDS);
  });

  it('the job queued when the server became ready stored each check’s result, all passed, with a timeline entry', async () => {
    expect(storedByJob.map((r) => r.checkId)).toEqual([...COMPLIANCE_CHECK_IDS].sort());
    expect(storedByJob.filter((r) => !r.passed).map((r) => `${r.checkId}: ${r.reason}: ${r.detail}`)).toEqual([]);
    for (const row of storedByJob) expect(row.reason).toBe('ok');
    const event = await harness.prisma.provisioningEvent.findFirst({ where: { serverId: server.serverId, step: 'compliance' }, orderBy: { createdAt: 'desc' } });
    expect(event?.message).toBe(`${COMPLIANCE_CHECK_IDS.length}/${COMPLIANCE_CHECK_IDS.length} compliance checks passed`);
  });

  it('the job left no throwaway account behind, and the census would not count one', async () => {
    const accounts = await prosodyListUsers(runtime, server.serverId, server.domain);
    expect(accounts.sort()).toEqual([`admin@${server.domain}`, ...USERS.map((u) => `${u.username}@${server.domain}`)].sort());
    expect(isComplianceAccount(`parley-check-${randomBytes(6).toString('hex')}`)).toBe(true);
    expect(isComplianceAccount('carol')).toBe(false);
  });

  it('runs again when queued again, overwriting each row with a newer result', async () => {
    const before = new Map(storedByJob.map((r) => [r.checkId, r.checkedAt.getTime()]));
    const runtimeQueue = (await harness.startWorker()).queue;
    await enqueueComplianceCheck(runtimeQueue, { serverId: server.serverId });
    const rerun = await until(
      'the second run’s results',
      async () => {
        const stored = await rows();
        return stored.length === COMPLIANCE_CHECK_IDS.length && stored.every((r) => r.checkedAt.getTime() > (before.get(r.checkId) ?? Infinity)) ? stored : null;
      },
      120_000,
      500,
    );
    expect(rerun.filter((r) => !r.passed).map((r) => `${r.checkId}: ${r.reason}`)).toEqual([]);
  }, 130_000);

  it('steps aside while an order is being built on its node, then runs; and never longer than its bound', async () => {
    const { queue } = await harness.startWorker();
    const { accountId, planId, nodeId } = await harness.prisma.server.findUniqueOrThrow({ where: { id: server.serverId }, select: { accountId: true, planId: true, nodeId: true } });
    const label = `o${Date.now().toString(36)}`;
    const inFlight = await harness.prisma.server.create({
      data: { accountId, planId, nodeId, name: label, domain: `${label}.parley.test`, domainKind: 'platform', federation: false, state: 'starting' },
    });
    const jobState = async () => (await queue.getJob(complianceCheckJobId(server.serverId)))?.getState();
    const noRunQueued = () => noRunQueuedIn(queue);
    const newerThan = (since: number) => async () => {
      const stored = await rows();
      return stored.length === COMPLIANCE_CHECK_IDS.length && stored.every((r) => r.checkedAt.getTime() > since) ? stored : null;
    };
    try {
      // While the order moves, the run hands its worker slot back and stores nothing.
      await noRunQueued();
      const queuedAt = Date.now();
      await enqueueComplianceCheck(queue, { serverId: server.serverId });
      await sleep(6_000);
      // It looks again every second: between looks it is delayed.
      await expect.poll(jobState, { timeout: 3_000, interval: 50 }).toBe('delayed');
      expect((await rows()).every((r) => r.checkedAt.getTime() < queuedAt)).toBe(true);
      const settledAt = Date.now();
      await harness.prisma.server.update({ where: { id: inFlight.id }, data: { state: 'failed', stateChangedAt: new Date() } });
      const afterOrder = await until('the run after the order', newerThan(settledAt), 120_000, 500);
      expect(afterOrder.filter((r) => !r.passed).map((r) => `${r.checkId}: ${r.reason}`)).toEqual([]);

      // An order that keeps moving delays a run by its bound, not more.
      await harness.prisma.server.update({ where: { id: inFlight.id }, data: { state: 'starting', stateChangedAt: new Date() } });
      await noRunQueued();
      const queuedAgain = Date.now();
      await enqueueComplianceCheck(queue, { serverId: server.serverId });
      const bounded = await until('the run despite the order', newerThan(queuedAgain), 120_000, 500);
      expect(Math.min(...bounded.map((r) => r.checkedAt.getTime())) - queuedAgain).toBeGreaterThanOrEqual(YIELD_MAX_MS);
      expect((await harness.prisma.server.findUniqueOrThrow({ where: { id: inFlight.id } })).state).toBe('starting');
    } finally {
      await harness.prisma.server.delete({ where: { id: inFlight.id } });
    }
  }, 200_000);

  it('queued again while a run is under way, runs once more after it, not beside it', async () => {
    const { queue } = await harness.startWorker();
    const stateOf = async (jobId: string) => (await queue.getJob(jobId))?.getState();
    const [first, followUp] = [complianceCheckJobId(server.serverId), complianceFollowUpJobId(server.serverId)];
    await noRunQueuedIn(queue);
    await enqueueComplianceCheck(queue, { serverId: server.serverId });
    // Past its settling delay (it is briefly active before deferring to it), then running its checks.
    await sleep(2_500);
    await until('the run under way', async () => ((await stateOf(first)) === 'active' ? true : null), 60_000, 50);
    // The run under way may have looked before a change the caller wants checked: a second one follows.
    await enqueueComplianceCheck(queue, { serverId: server.serverId });
    expect(await stateOf(followUp)).toMatch(/^(waiting|delayed|active)$/);
    let firstEndedAt: number | undefined;
    const deadline = Date.now() + 150_000;
    for (;;) {
      const [a, b] = await Promise.all([stateOf(first), stateOf(followUp)]);
      if (a === undefined) firstEndedAt ??= Date.now();
      if (a === undefined && b === undefined) break;
      if (Date.now() > deadline) throw new Error(`the runs did not end within 150 s (${a}, ${b})`);
      await sleep(50);
    }
    const stored = await rows();
    expect(stored).toHaveLength(COMPLIANCE_CHECK_IDS.length);
    // The second run's results, stored after the first run had gone, every check passing.
    expect(Math.min(...stored.map((r) => r.checkedAt.getTime()))).toBeGreaterThanOrEqual((firstEndedAt ?? Infinity) - 100);
    expect(stored.filter((r) => !r.passed).map((r) => `${r.checkId}: ${r.reason}`)).toEqual([]);
  }, 200_000);

  it('a check that throws or hangs fails alone with its reason; the checks after it still run', async () => {
    const [discoCheck] = complianceChecks();
    if (!discoCheck) throw new Error('no checks');
    const outcome = await runComplianceChecks({
      target,
      admin,
      users: USERS,
      tools: defaultComplianceTools(),
      checkTimeoutMs: 1_500,
      checks: [
        { id: 'xep0115-caps', run: () => Promise.reject(new CheckFailure('made_to_fail', 'thrown by the test')) },
        { id: 'xep0163-pep', run: () => new Promise(() => undefined) },
        { id: 'xep0237-roster-versioning', run: () => Promise.reject(new Error('not a CheckFailure')) },
        discoCheck,
        { id: 'xep0352-csi', run: () => Promise.resolve(passed('the test')) },
      ],
    });
    expect(outcome.map((r) => [r.id, r.passed, r.reason])).toEqual([
      ['xep0115-caps', false, 'made_to_fail'],
      ['xep0163-pep', false, 'timeout'],
      ['xep0237-roster-versioning', false, 'error'],
      ['xep0030-disco', true, 'ok'],
      ['xep0352-csi', true, 'ok'],
    ]);
  }, 30_000);

  it('XEP-0368 fails where TLS does not select xmpp-client (the HTTPS port), and every check fails when the admin cannot log in', async () => {
    const checks = complianceChecks().filter((c) => c.id === 'xep0368-direct-tls');
    const https = await runComplianceChecks({ target: { ...target, ports: { ...target.ports, c2sDirectTls: target.ports.https } }, admin, users: USERS, tools: defaultComplianceTools(), checks });
    expect(https.map((r) => [r.id, r.passed, r.reason])).toEqual([['xep0368-direct-tls', false, 'alpn_not_selected']]);
    const refused = await runComplianceChecks({ target, admin: { ...admin, password: 'not the admin password' }, users: USERS, tools: defaultComplianceTools(), checks: complianceChecks().slice(0, 3) });
    expect(refused).toHaveLength(3);
    for (const result of refused) expect([result.passed, result.reason, /not-authorized/.test(result.detail)]).toEqual([false, 'xmpp_auth', true]);
  }, 60_000);
});
