/** Publishes and withdraws DNS-01 challenge values; the caller owns DNS and its ledger. */
export interface DnsChallengeSolver {
  /** Adds the TXT value at `_acme-challenge.<name>` and resolves once authoritative DNS serves it. */
  present(name: string, value: string): Promise<void>;
  /** Removes exactly that TXT value; removing one that is already gone is success. */
  cleanup(name: string, value: string): Promise<void>;
}

export interface IssuedCertificate {
  /** The leaf followed by the intermediates, PEM. */
  chainPem: string;
  privateKeyPem: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  names: string[];
}

export interface IssueRequest {
  names: string[];
  /** PEM of the environment's ACME account key (created once, stored encrypted by the caller). */
  accountKeyPem: string;
  contactEmail: string;
  solver: DnsChallengeSolver;
  /**
   * Called before each new ACME order (an issuance may order again after a refused validation);
   * it records the order, or throws to create none (the CA's order budget is spent).
   */
  beforeOrder(names: string[]): Promise<void>;
}

/** An ACME CA: Pebble in the sandbox, Let's Encrypt in production. */
export interface CertificateAuthority {
  readonly directoryUrl: string;

  /** Read-only reachability check of the ACME directory. */
  ping(): Promise<string>;

  /** A new account key (PEM); the caller encrypts and keeps it. */
  createAccountKey(): Promise<string>;

  /** Registers the account if needed and issues one certificate for all names through DNS-01. */
  issue(request: IssueRequest): Promise<IssuedCertificate>;

  /**
   * Revokes a certificate this account issued, at the directory that issued it (the configured
   * one when omitted); one already revoked is success.
   */
  revoke(chainPem: string, accountKeyPem: string, directoryUrl?: string): Promise<void>;
}
