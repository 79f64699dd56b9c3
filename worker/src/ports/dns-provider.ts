export type DnsRecordType = 'A' | 'AAAA' | 'CNAME' | 'SRV' | 'TXT';

/**
 * One DNS record value. Names are absolute, lowercase, without the trailing dot
 * (`_xmpp-client._tcp.alice.parley.test`). Values are in presentation form without quoting:
 * A `127.0.0.1`, SRV `0 5 5222 alice.parley.test.`, CNAME `target.example.`, TXT the raw text.
 */
export interface DnsRecord {
  name: string;
  type: DnsRecordType;
  ttl: number;
  value: string;
}

/** Authoritative DNS for zones Parley controls: PowerDNS in the sandbox, Route 53 in production. */
export interface DnsProvider {
  readonly kind: 'powerdns' | 'route53';

  /** Read-only reachability check that also proves the platform zone exists. */
  ping(): Promise<string>;

  /**
   * Adds each value to its record set. A value already present is success; other values at the
   * same name and type (not Parley's) are kept. Changes to one zone are applied one at a time.
   */
  addRecords(zone: string, records: DnsRecord[]): Promise<void>;

  /** Removes exactly these values. A value already gone is success; other values are kept. */
  removeRecords(zone: string, records: DnsRecord[]): Promise<void>;

  /** Every record value in the zone, optionally only at one name. */
  listRecords(zone: string, name?: string): Promise<DnsRecord[]>;
}
