import { X509Certificate, createPrivateKey } from 'node:crypto';
import { Agent } from 'node:https';
import * as acme from 'acme-client';
import type {
  CertificateAuthority,
  DnsChallengeSolver,
  IssueRequest,
  IssuedCertificate,
} from '../ports/certificate-authority.js';
import { httpsGetJson } from './https-get.js';
import { findCause } from '../contracts/error-causes.js';

export interface AcmeOptions {
  directoryUrl: string;
  /** PEM of an extra CA that signs the ACME API's own TLS certificate (Pebble in the sandbox). */
  caBundle: Buffer | undefined;
  /**
   * First wait before re-reading a challenge or order; it doubles up to `pollMaxIntervalMs`.
   * acme-client starts at 5 s; Pebble validates in milliseconds and Let's Encrypt in about a second.
   */
  pollIntervalMs?: number;
  pollMaxIntervalMs?: number;
  /**
   * Orders tried when the CA refuses a DNS-01 validation: a resolver of the CA may still hold a
   * negative answer from before the record existed. Failures after the last one are permanent.
   */
  validationAttempts?: number;
  /** Bound on each HTTP request to the CA (acme-client sets none): a CA that hangs fails the call. */
  httpTimeoutMs?: number;
}

const ACME_ERROR = 'urn:ietf:params:acme:error:';
const BAD_NONCE = `${ACME_ERROR}badNonce`;
const ALREADY_REVOKED = `${ACME_ERROR}alreadyRevoked`;
const RATE_LIMITED = `${ACME_ERROR}rateLimited`;
/** Polls per challenge or order: about 50 s at the default intervals, a bounded wait for a job. */
const POLL_ATTEMPTS = 15;
const DEFAULT_HTTP_TIMEOUT_MS = 30_000;

/** Problem types (RFC 8555 section 6.7) that the same request will meet again, however often retried. */
const PERMANENT_PROBLEMS = new Set(
  [
    'malformed',
    'rejectedIdentifier',
    'unsupportedIdentifier',
    'unauthorized',
    'incorrectResponse',
    'caa',
    'badCSR',
    'badPublicKey',
    'badSignatureAlgorithm',
    'badRevocationReason',
    'invalidContact',
    'unsupportedContact',
    'accountDoesNotExist',
    'externalAccountRequired',
    'userActionRequired',
  ].map((type) => `${ACME_ERROR}${type}`),
);

export interface AcmeProblem {
  /** The full type URN, e.g. `urn:ietf:params:acme:error:unauthorized`. */
  type: string;
  detail: string;
  /** The identifier the problem is about, when known. */
  name?: string;
}

/** A failure the CA described with problem documents; their types decide how to retry. */
export class AcmeError extends Error {
  constructor(
    message: string,
    readonly problems: AcmeProblem[],
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'AcmeError';
  }
}

/** True when retrying cannot help (the worker throws UnrecoverableError); network, 5xx, badNonce, rateLimited are transient. */
export function isPermanentAcmeError(error: unknown): boolean {
  return findAcmeError(error)?.problems.some((problem) => PERMANENT_PROBLEMS.has(problem.type)) ?? false;
}

/** The CA refused for its rate limits: transient, and a sign to slow down. */
export function isRateLimitedAcmeError(error: unknown): boolean {
  return findAcmeError(error)?.problems.some((problem) => problem.type === RATE_LIMITED) ?? false;
}

/** How long the CA asked to wait (Retry-After, e.g. on rateLimited), when it did. */
export function acmeRetryAfterMs(error: unknown): number | undefined {
  return findAcmeError(error)?.retryAfterMs;
}

// Errors from issue() and revoke() wrap the CA's answer with context; it sits a few causes down.
const findAcmeError = (error: unknown): AcmeError | undefined => findCause(error, AcmeError);

export class AcmeCertificateAuthority implements CertificateAuthority {
  readonly directoryUrl: string;
  private readonly pollIntervalMs: number;
  private readonly pollMaxIntervalMs: number;
  private readonly validationAttempts: number;

  constructor(private readonly options: AcmeOptions) {
    this.directoryUrl = options.directoryUrl;
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.pollMaxIntervalMs = Math.max(this.pollIntervalMs, options.pollMaxIntervalMs ?? 5_000);
    this.validationAttempts = Math.max(1, options.validationAttempts ?? 2);
    registerAcmeOrigin(options.directoryUrl, { caBundle: options.caBundle, timeoutMs: options.httpTimeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS });
  }

  async ping(): Promise<string> {
    const directory = await httpsGetJson(this.options.directoryUrl, this.options.caBundle, 5_000);
    if (typeof directory !== 'object' || directory === null || !('newOrder' in directory)) {
      throw new Error(`${this.options.directoryUrl} is not an ACME directory (no newOrder)`);
    }
    return `ACME directory at ${this.options.directoryUrl}`;
  }

  async createAccountKey(): Promise<string> {
    return (await acme.crypto.createPrivateEcdsaKey('P-256')).toString('utf8');
  }

  async issue(request: IssueRequest): Promise<IssuedCertificate> {
    const names = [...new Set(request.names.map((name) => name.toLowerCase()))];
    if (names.length === 0) throw new RangeError('a certificate needs at least one name');
    const client = this.client(request.accountKeyPem);
    // newAccount with a known key returns the existing account, so this is safe on every call.
    await withContext('registering the ACME account', () =>
      client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${request.contactEmail}`] }),
    );
    for (let attempt = 1; ; attempt += 1) {
      // Not wrapped: its refusal (the order budget is spent) reaches the caller as it is.
      await request.beforeOrder(names);
      const order = await withContext(`ordering a certificate for ${names.join(', ')}`, () =>
        client.createOrder({ identifiers: names.map((value) => ({ type: 'dns', value })) }),
      );
      const refused = await this.authorize(client, order, request.solver);
      if (refused.length === 0) return this.finalize(client, order, names);
      if (attempt >= this.validationAttempts) {
        const reasons = refused.map((p) => `${p.name}: ${describeProblem(p)}`).join('; ');
        throw new AcmeError(`the CA refused the DNS-01 validation of ${reasons}`, refused);
      }
    }
  }

  async revoke(chainPem: string, accountKeyPem: string, directoryUrl: string = this.directoryUrl): Promise<void> {
    const [leaf] = acme.crypto.splitPemChain(chainPem);
    if (!leaf) throw new RangeError('no certificate to revoke in the given PEM');
    // A directory this worker was configured with before: same trust and bounds as the current one.
    if (!acmeOrigins.has(new URL(directoryUrl).origin)) {
      registerAcmeOrigin(directoryUrl, { caBundle: this.options.caBundle, timeoutMs: this.options.httpTimeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS });
    }
    const client = this.client(accountKeyPem, directoryUrl);
    try {
      // Revocation is signed by the account that ordered the certificate: look it up, never create it.
      await withContext('looking up the ACME account', () => client.createAccount({ onlyReturnExisting: true }));
      await withContext('revoking the certificate', () => client.revokeCertificate(leaf));
    } catch (error) {
      if (findAcmeError(error)?.problems[0]?.type === ALREADY_REVOKED) return;
      throw error;
    }
  }

  private client(accountKeyPem: string, directoryUrl: string = this.directoryUrl): acme.Client {
    return new acme.Client({
      directoryUrl,
      accountKey: accountKeyPem,
      backoffMin: this.pollIntervalMs,
      backoffMax: this.pollMaxIntervalMs,
      backoffAttempts: POLL_ATTEMPTS,
    });
  }

  /**
   * Publishes every pending DNS-01 challenge, then asks the CA to validate them all, and always
   * withdraws what it published. Returns the validations the CA refused (empty when all passed).
   */
  private async authorize(client: acme.Client, order: acme.Order, solver: DnsChallengeSolver): Promise<AcmeProblem[]> {
    const challenges = await this.pendingChallenges(client, order);
    let refused: AcmeProblem[];
    let withdrawn: PromiseSettledResult<void>[];
    try {
      const presented = await Promise.allSettled(challenges.map((c) => solver.present(c.name, c.value)));
      throwFirstRejection(presented, challenges, (c) => `publishing the DNS-01 challenge for ${c.name}`);
      await Promise.all(
        challenges.map((c) => withContext(`asking the CA to validate ${c.name}`, () => client.completeChallenge(c.challenge))),
      );
      refused = await this.awaitValidations(client, order, challenges);
    } finally {
      // Every value went to present(), so every one is withdrawn, even after a present() that failed
      // half-way. A removal that fails stays in the caller's DNS ledger for reconciliation; when
      // the validation failed too, its error is the one to report.
      withdrawn = await Promise.allSettled(challenges.map((c) => solver.cleanup(c.name, c.value)));
    }
    throwFirstRejection(withdrawn, challenges, (c) => `removing the DNS-01 challenge for ${c.name}`);
    return refused;
  }

  private async pendingChallenges(client: acme.Client, order: acme.Order): Promise<PendingChallenge[]> {
    const authorizations = await withContext('reading the authorizations', () => client.getAuthorizations(order));
    const pending: PendingChallenge[] = [];
    for (const authz of authorizations) {
      const name = authz.identifier.value;
      // CAs reuse an account's recent valid authorizations (Pebble does it for a share of them).
      if (authz.status === 'valid') continue;
      if (authz.status !== 'pending') throw new Error(`the CA's authorization for ${name} is ${authz.status}`);
      const challenge = authz.challenges.find((c) => c.type === 'dns-01');
      if (!challenge) throw new Error(`the CA offers no DNS-01 challenge for ${name}`);
      pending.push({ authz, challenge, name, value: await client.getChallengeKeyAuthorization(challenge) });
    }
    return pending;
  }

  /** Waits for every challenge; a refused one is read back from its authorization with the CA's problem. */
  private async awaitValidations(client: acme.Client, order: acme.Order, challenges: PendingChallenge[]): Promise<AcmeProblem[]> {
    const outcomes = await Promise.allSettled(challenges.map((c) => client.waitForValidStatus(c.challenge)));
    if (outcomes.every((outcome) => outcome.status === 'fulfilled')) return [];
    // acme-client reports an invalid challenge with its detail text only; the type is in the authorization.
    const current = await withContext('reading the refused authorizations', () => client.getAuthorizations(order));
    const refused: AcmeProblem[] = [];
    outcomes.forEach((outcome, index) => {
      const c = challenges[index];
      if (outcome.status === 'fulfilled' || !c) return;
      const challenge = current.find((a) => a.url === c.authz.url)?.challenges.find((ch) => ch.url === c.challenge.url);
      const problem = readProblem(challenge?.error);
      if (!problem) {
        throw new Error(`waiting for the CA to validate ${c.name} failed: ${messageOf(outcome.reason)}`, { cause: outcome.reason });
      }
      refused.push({ ...problem, name: c.name });
    });
    return refused;
  }

  private async finalize(client: acme.Client, order: acme.Order, names: string[]): Promise<IssuedCertificate> {
    // A fresh key per issuance: a renewal never keeps a key that may have leaked with the old certificate.
    const keyPem = await acme.crypto.createPrivateEcdsaKey('P-256');
    const [, csr] = await acme.crypto.createCsr({ commonName: names[0], altNames: [...names] }, keyPem);
    const finalized = await withContext('finalizing the order', () => client.finalizeOrder(order, csr));
    const chainPem = await withContext('downloading the certificate', () => client.getCertificate(finalized));
    const [leafPem] = acme.crypto.splitPemChain(chainPem);
    if (!leafPem) throw new Error('the CA returned no certificate');
    const leaf = new X509Certificate(leafPem);
    if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) throw new Error('the CA returned a certificate for another key');
    const covered = new Set((leaf.subjectAltName ?? '').split(', ').map((entry) => entry.replace(/^DNS:/, '').toLowerCase()));
    const missing = names.filter((name) => !covered.has(name));
    if (missing.length > 0) throw new Error(`the CA returned a certificate without ${missing.join(', ')}`);
    return {
      chainPem,
      privateKeyPem: keyPem.toString('utf8'),
      serial: leaf.serialNumber,
      notBefore: new Date(leaf.validFrom),
      notAfter: new Date(leaf.validTo),
      names,
    };
  }
}

type AcmeChallenge = acme.Authorization['challenges'][number];

interface PendingChallenge {
  authz: acme.Authorization;
  challenge: AcmeChallenge;
  name: string;
  /** The TXT value: the digest of the key authorization. */
  value: string;
}

async function withContext<T>(action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new Error(`${action} failed: ${messageOf(error)}`, { cause: error });
  }
}

function throwFirstRejection<T>(results: PromiseSettledResult<unknown>[], items: T[], action: (item: T) => string): void {
  const index = results.findIndex((result) => result.status === 'rejected');
  const result = results[index];
  const item = items[index];
  if (result?.status === 'rejected' && item !== undefined) {
    throw new Error(`${action(item)} failed: ${messageOf(result.reason)}`, { cause: result.reason });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeProblem(problem: AcmeProblem): string {
  return `${problem.detail} [${problem.type.replace(ACME_ERROR, '')}]`;
}

function readProblem(data: unknown): AcmeProblem | undefined {
  if (typeof data !== 'object' || data === null || !('type' in data) || typeof data.type !== 'string') return undefined;
  const detail = 'detail' in data && typeof data.detail === 'string' ? data.detail : '(no detail)';
  return { type: data.type, detail };
}

/** RFC 8555 section 6.7.1: per-identifier subproblems, e.g. which name a rejectedIdentifier is about. */
function readSubproblems(data: unknown): AcmeProblem[] {
  if (typeof data !== 'object' || data === null || !('subproblems' in data) || !Array.isArray(data.subproblems)) return [];
  return data.subproblems.flatMap((sub: unknown) => {
    const problem = readProblem(sub);
    if (!problem) return [];
    const identifier = (sub as { identifier?: { value?: unknown } }).identifier?.value;
    return [typeof identifier === 'string' ? { ...problem, name: identifier } : problem];
  });
}

function parseRetryAfter(header: unknown): number | undefined {
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function originOf(url: string | undefined): string | undefined {
  return url && URL.canParse(url) ? new URL(url).origin : undefined;
}

/*
 * acme-client sends every request through one shared axios instance, `acme.axios` (its documented
 * hook), and has no per-client HTTP options. The two interceptors below are installed on it once
 * and act only on origins an adapter registered: they give that CA's requests a timeout and an
 * agent trusting its extra CA (Pebble's API certificate), and turn its problem responses into AcmeError, since
 * acme-client keeps only the detail text and the type is what tells permanent from transient.
 * Requests to other origins pass untouched, and the process-wide TLS trust is never changed.
 */
interface AcmeOrigin {
  agent: Agent | undefined;
  timeoutMs: number;
}

const acmeOrigins = new Map<string, AcmeOrigin>();
let interceptorsInstalled = false;

function registerAcmeOrigin(directoryUrl: string, options: { caBundle: Buffer | undefined; timeoutMs: number }): void {
  const agent = options.caBundle ? new Agent({ ca: options.caBundle, keepAlive: true }) : undefined;
  acmeOrigins.set(new URL(directoryUrl).origin, { agent, timeoutMs: options.timeoutMs });
  if (interceptorsInstalled) return;
  interceptorsInstalled = true;
  acme.axios.interceptors.request.use((config) => {
    const origin = originOf(config.url);
    const registered = origin === undefined ? undefined : acmeOrigins.get(origin);
    if (registered?.agent) config.httpsAgent = registered.agent;
    if (registered) config.timeout = registered.timeoutMs;
    return config;
  });
  // Runs after acme-client's own interceptor, so its retries of 429/5xx/network errors are already spent.
  acme.axios.interceptors.response.use((response) => {
    const origin = originOf(response.config.url);
    if (response.status < 400 || origin === undefined || !acmeOrigins.has(origin)) return response;
    const problem = readProblem(response.data);
    // acme-client answers badNonce itself, with the fresh nonce of this response (bounded, 5 times).
    if (!problem || problem.type === BAD_NONCE) return response;
    const problems = [problem, ...readSubproblems(response.data)];
    const message = problems.map((p) => (p.name ? `${p.name}: ${describeProblem(p)}` : describeProblem(p))).join('; ');
    throw new AcmeError(`${message} (HTTP ${response.status} from ${response.config.url})`, problems, parseRetryAfter(response.headers['retry-after']));
  });
}
