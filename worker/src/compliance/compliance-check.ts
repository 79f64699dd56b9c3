import type { XmppSession } from '../adapters/xmpp-client.xmpp-probe.js';
import type { ComplianceCheckId } from '../contracts/compliance.js';
import type { HttpsExchange } from '../adapters/https-exchange.js';
import type { StunTurnClient } from '../ports/stun-turn-client.js';

/** The server under test: where to connect, and what to verify its certificates against. */
export interface ComplianceTarget {
  domain: string;
  /** Where connections go (the node's address): the server's names need not resolve where the worker runs. */
  host: string;
  /** The node's published ports: c2s (STARTTLS), direct TLS (XEP-0368), https (uploads). */
  ports: { c2s: number; c2sDirectTls: number; https: number };
  /** PEM roots to trust instead of the system store; undefined = the system roots. */
  trustedCaPems: string[] | undefined;
}

export interface ComplianceAccount {
  username: string;
  password: string;
}

/** Side effects the checks use besides XMPP, behind ports so a run can be given others. */
export interface ComplianceTools {
  https(exchange: HttpsExchange): Promise<{ status: number; body: Buffer }>;
  stunTurn: StunTurnClient;
}

/** What a check is given. */
export interface CheckContext {
  target: ComplianceTarget;
  /** The admin's session: read-only checks (discovery, stream features) use it. */
  session: XmppSession;
  /**
   * Two throwaway accounts for checks that write (messages, archives, blocks, rooms, uploads),
   * so nothing is left in the customer's own accounts; the second is offline unless opened.
   */
  users: readonly [ComplianceAccount, ComplianceAccount];
  /** Logs one of `users` in (another resource each time); the run closes it afterwards. */
  open(account: ComplianceAccount): Promise<XmppSession>;
  tools: ComplianceTools;
  /** Bound on each single wait (an IQ, a message, a connection). */
  waitMs: number;
}

export interface CheckVerdict {
  passed: boolean;
  /** Short and stable (`ok`, `missing_feature`, `not_archived`, ...): stored and read by the API. */
  reason: string;
  /** For people: what was seen. */
  detail: string;
}

export interface ComplianceCheck {
  id: ComplianceCheckId;
  run(context: CheckContext): Promise<CheckVerdict>;
}

export interface CheckResult extends CheckVerdict {
  id: ComplianceCheckId;
  checkedAt: Date;
  durationMs: number;
}

/** Thrown by a check to fail with a stable reason; anything else thrown is classified by the runner. */
export class CheckFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'CheckFailure';
  }
}

export const passed = (detail: string): CheckVerdict => ({ passed: true, reason: 'ok', detail });
export const failed = (reason: string, detail: string): CheckVerdict => ({ passed: false, reason, detail });
