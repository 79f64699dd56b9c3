/** An ACME CA: Pebble in the sandbox, Let's Encrypt in production. */
export interface CertificateAuthority {
  /** Read-only reachability check of the ACME directory. */
  ping(): Promise<string>;
}
