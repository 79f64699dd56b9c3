/** Authoritative DNS for the platform zone: PowerDNS in the sandbox, Route 53 in production. */
export interface DnsProvider {
  /** Read-only reachability check that also proves the platform zone exists. */
  ping(): Promise<string>;
}
