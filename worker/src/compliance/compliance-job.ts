import { randomBytes } from 'node:crypto';
import { TurnutilsStunTurnClient } from '../adapters/turnutils.stun-turn-client.js';
import { httpsExchange } from '../adapters/https-exchange.js';
import { COMPLIANCE_ACCOUNT_PREFIX, isComplianceAccount } from '../contracts/compliance.js';
import { adminSecretContext } from '../contracts/secret-contexts.js';
import { generatePassword } from '../crypto/generated-password.js';
import { prosodyCreateOrUpdateUser, prosodyDeleteUser, prosodyListUsers } from '../provisioning/prosody-accounts.js';
import { serverPorts } from '../provisioning/steps/allocate.step.js';
import type { QueuedRun, StepDeps } from '../provisioning/step-deps.js';
import type { Timeline } from '../provisioning/timeline.js';
import type { ComplianceAccount, ComplianceTools } from './compliance-check.js';
import { storeComplianceResults, summarizeComplianceResults } from './compliance-results.js';
import { orderInFlight } from '../housekeeping/order-yield.js';
import { runComplianceChecks } from './run-compliance-checks.js';

export const defaultComplianceTools = (): ComplianceTools => ({ https: httpsExchange, stunTurn: new TurnutilsStunTurnClient() });

/**
 * A run starts no sooner than this after it was queued: a customer ordering several servers
 * places the next order right after the last one is ready, when that one's run is queued.
 */
const SETTLE_MS = 2_000;
/** How often a run that stepped aside (for an order, or for earlier runs) looks again. */
const RECHECK_MS = 1_000;
/**
 * Runs under way at once, across the workers: many runs whose yield to orders ends together (a
 * burst of orders followed by more) would otherwise take every worker slot from the orders' steps.
 */
export const COMPLIANCE_RUNS_AT_ONCE = 2;
/**
 * The longest a run waits for earlier runs: live ones end well within it (their checks have
 * timeouts), and one whose worker died stops counting as under way at BullMQ's stall check.
 */
const EARLIER_RUNS_MAX_WAIT_MS = 10 * 60_000;

/** Where the run stands in the queue: its id and server, when it was queued, and how to hand the worker back until later. */
export interface ComplianceTurn extends QueuedRun {
  /** Ends this run; the job runs again at `at` (epoch ms). */
  defer(at: number): Promise<never>;
}

const throwawayAccount = (): ComplianceAccount => ({ username: `${COMPLIANCE_ACCOUNT_PREFIX}${randomBytes(6).toString('hex')}`, password: generatePassword() });

/**
 * The admin credential Prosody has, read only: a compliance run never mints one (that is the
 * order's and the reset's), so a server without one is skipped.
 */
async function appliedAdminCredential(deps: StepDeps, serverId: string): Promise<ComplianceAccount | undefined> {
  const credential = await deps.prisma.serverCredential.findFirst({ where: { serverId, kind: 'admin', appliedAt: { not: null } }, orderBy: { issuance: 'desc' }, include: { secret: true } });
  if (!credential || credential.secret.destroyedAt) return undefined;
  const [username] = credential.jid.split('@');
  return { username: username ?? 'admin', password: deps.secrets.open(credential.secret, adminSecretContext(serverId)) };
}

/**
 * Whether runs under way go first: one of the same server queued earlier (two at once would delete
 * each other's throwaway accounts), or COMPLIANCE_RUNS_AT_ONCE of any queued earlier. The order is
 * total (the id breaks a tie), so of runs that start together the earliest go and the rest wait.
 */
export function waitsFor(own: QueuedRun, underWay: readonly QueuedRun[]): boolean {
  const ahead = underWay.filter((run) => run.jobId !== own.jobId && (run.queuedAt < own.queuedAt || (run.queuedAt === own.queuedAt && run.jobId < own.jobId)));
  return ahead.length >= COMPLIANCE_RUNS_AT_ONCE || ahead.some((run) => run.serverId === own.serverId);
}

/**
 * Runs the XEP-0479 checks against a ready server as its admin, with two throwaway accounts for
 * the checks that write, and stores each check's result. A failed check is data: the job fails
 * (and is retried) only when it could not run the checks at all. The throwaway accounts are
 * deleted afterwards, and any a crashed run left behind before new ones are made.
 * Bookkeeping, not the customer's wait: while an order is being built on the server's node, the
 * run steps aside (bounded by COMPLIANCE_YIELD_MAX_MS from when it was queued), so that order's
 * engine calls and CPU-bound steps do not share dockerd and the cores with a score of logins and
 * `prosodyctl` runs.
 */
export async function runComplianceJob(deps: StepDeps, timeline: Timeline, turn: ComplianceTurn, tools: ComplianceTools = defaultComplianceTools()): Promise<string> {
  const { serverId } = turn;
  const server = await deps.prisma.server.findUnique({ where: { id: serverId }, include: { node: true } });
  if (!server?.node || server.deletedAt || server.state !== 'ready' || server.desiredState !== 'running') return 'skipped: the server is not ready and running';
  const age = Date.now() - turn.queuedAt;
  const yields = age < deps.settings.complianceYieldMaxMs;
  // The settling delay first: it needs no look at the queue.
  if (yields && age < SETTLE_MS) return turn.defer(turn.queuedAt + SETTLE_MS);
  if (age < EARLIER_RUNS_MAX_WAIT_MS && waitsFor(turn, await deps.jobs.complianceRunsUnderWay())) return turn.defer(Date.now() + RECHECK_MS);
  if (yields && (await orderInFlight(deps.prisma, server.nodeId))) return turn.defer(Date.now() + RECHECK_MS);
  const admin = await appliedAdminCredential(deps, serverId);
  if (!admin) return 'skipped: the server has no admin credential yet';
  const ports = await serverPorts(deps.prisma, serverId);

  for (const jid of await prosodyListUsers(deps.containers, serverId, server.domain)) {
    const [username = ''] = jid.split('@');
    if (isComplianceAccount(username)) await prosodyDeleteUser(deps.containers, serverId, { username, domain: server.domain });
  }
  const users = [throwawayAccount(), throwawayAccount()] as const;
  try {
    for (const user of users) await prosodyCreateOrUpdateUser(deps.containers, serverId, { ...user, domain: server.domain });
    const results = await runComplianceChecks({
      target: {
        domain: server.domain,
        host: server.node.publicAddress,
        ports: { c2s: ports.c2s, c2sDirectTls: ports.c2s_direct_tls, https: ports.https },
        trustedCaPems: await deps.settings.trustedRoots(),
      },
      admin,
      users,
      tools,
    });
    await storeComplianceResults(deps.prisma, serverId, results);
    const summary = summarizeComplianceResults(results);
    await timeline.record(serverId, 'compliance', 'info', summary);
    return summary;
  } finally {
    // Each on its own: one that cannot be deleted now is removed by the next run, before it makes new ones.
    await Promise.allSettled(users.map((user) => prosodyDeleteUser(deps.containers, serverId, { username: user.username, domain: server.domain })));
  }
}
