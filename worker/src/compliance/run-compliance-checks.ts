import { randomBytes } from 'node:crypto';
import { openXmppSession, type XmppSession } from '../adapters/xmpp-client.xmpp-probe.js';
import { assertDomain } from '../contracts/domain-name.js';
import { XmppProbeError } from '../ports/xmpp-probe.js';
import { StunTurnError } from '../ports/stun-turn-client.js';
import { CheckFailure, type CheckResult, type CheckVerdict, type ComplianceAccount, type ComplianceCheck, type ComplianceTarget, type ComplianceTools } from './compliance-check.js';
import { complianceChecks } from './check-list.js';

export interface ComplianceRun {
  target: ComplianceTarget;
  /** The account the read-only checks log in as: the server's admin. */
  admin: ComplianceAccount;
  /** Two accounts the checks that write use (see CheckContext.users). */
  users: readonly [ComplianceAccount, ComplianceAccount];
  tools: ComplianceTools;
  /** Bound on each single wait inside a check. */
  waitMs?: number;
  /** Bound on a whole check, its logins included. */
  checkTimeoutMs?: number;
  /** A subset, for tests of the runner; every check by default. */
  checks?: readonly ComplianceCheck[];
}

const DEFAULT_WAIT_MS = 8_000;
const DEFAULT_CHECK_TIMEOUT_MS = 30_000;

/** Why a check ended in an error, as a stable reason and words for people. */
export function classifyCheckError(error: unknown): Pick<CheckVerdict, 'reason' | 'detail'> {
  if (error instanceof CheckFailure) return { reason: error.reason, detail: error.message };
  if (error instanceof XmppProbeError) return { reason: `xmpp_${error.failure}`, detail: error.message };
  if (error instanceof StunTurnError) return { reason: `stun_turn_${error.failure}`, detail: error.message };
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  if (/CERT|SELF_SIGNED|UNABLE_TO|ISSUER|ALTNAME|EXPIRED/.test(code)) return { reason: 'certificate_untrusted', detail: `${message} (${code})` };
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT') return { reason: 'connection_failed', detail: `${message} (${code})` };
  return { reason: 'error', detail: message };
}

/**
 * Runs every check against one server and returns every result: a check that fails, throws or
 * runs out of time is a result like the others and never stops the rest. The admin's session is
 * shared by the read-only checks (opened again if a check broke it); each check's own sessions
 * are closed when it ends.
 */
export async function runComplianceChecks(run: ComplianceRun): Promise<CheckResult[]> {
  const target = { ...run.target, domain: assertDomain(run.target.domain) };
  const waitMs = run.waitMs ?? DEFAULT_WAIT_MS;
  const checkTimeoutMs = run.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const login = (account: ComplianceAccount) =>
    openXmppSession({
      host: target.host,
      port: target.ports.c2s,
      domain: target.domain,
      username: account.username,
      password: account.password,
      trustedCaPems: target.trustedCaPems,
      timeoutMs: waitMs,
      resource: `parley-compliance-${randomBytes(4).toString('hex')}`,
      // Over the TLS verified above; SCRAM here costs ~600 ms of the worker's CPU per login.
      preferPlain: true,
    });

  const results: CheckResult[] = [];
  let admin: XmppSession | undefined;
  try {
    for (const check of run.checks ?? complianceChecks()) {
      const started = Date.now();
      const opened: XmppSession[] = [];
      let ended = false;
      let verdict: CheckVerdict;
      try {
        if (admin?.xmpp.status !== 'online') {
          await admin?.close();
          admin = undefined;
          admin = await login(run.admin);
        }
        const open = async (account: ComplianceAccount) => {
          const session = await login(account);
          // A check past its time may still log in: that session is closed at once.
          if (ended) {
            await session.close();
            throw new CheckFailure('timeout', 'the check ended while logging in');
          }
          opened.push(session);
          return session;
        };
        verdict = await withTimeout(check.run({ target, session: admin, users: run.users, open, tools: run.tools, waitMs }), checkTimeoutMs);
      } catch (error) {
        verdict = { passed: false, ...classifyCheckError(error) };
      } finally {
        ended = true;
        await Promise.all(opened.map((s) => s.close()));
      }
      results.push({ id: check.id, ...verdict, checkedAt: new Date(), durationMs: Date.now() - started });
    }
  } finally {
    await admin?.close();
  }
  return results;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckFailure('timeout', `the check did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
