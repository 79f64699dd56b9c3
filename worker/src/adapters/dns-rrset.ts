import { isIPv4, isIPv6 } from 'node:net';
import type { DnsRecord, DnsRecordType } from '../ports/dns-provider.js';

// What both DNS adapters share: input validation, the provider-independent part of TXT quoting,
// and the add/remove-by-value merge. Values a provider already holds are kept in the provider's
// own encoding and written back verbatim, so a value Parley was not asked about never changes.

const RECORD_TYPES: ReadonlySet<string> = new Set<DnsRecordType>(['A', 'AAAA', 'CNAME', 'SRV', 'TXT']);
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const MAX_TTL = 2_147_483_647;
/** RFC 1035 caps one character-string at 255 bytes; longer TXT values are split into several. */
const TXT_CHUNK = 255;

export function isRecordType(type: string): type is DnsRecordType {
  return RECORD_TYPES.has(type);
}

/** Lowercase, without the trailing dot: the form of names in the port. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export function absoluteName(name: string): string {
  return `${normalizeName(name)}.`;
}

function isDnsName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => LABEL.test(label));
}

function isInZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

function canonicalIpv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/** The comparison form of a value: two values with the same key are the same record. */
function valueKey(type: DnsRecordType, value: string): string {
  switch (type) {
    case 'TXT':
      return value;
    case 'A':
      return value.trim();
    case 'AAAA':
      return isIPv6(value.trim()) ? canonicalIpv6(value.trim()) : value.trim().toLowerCase();
    case 'CNAME':
      return absoluteName(value.trim());
    case 'SRV': {
      const fields = value.trim().split(/\s+/);
      const target = fields.pop() ?? '';
      return [...fields, absoluteName(target)].join(' ');
    }
  }
}

function invalid(record: DnsRecord, why: string): Error {
  return new Error(`invalid DNS record ${record.type} ${record.name} "${record.value}": ${why}`);
}

function checkValue(record: DnsRecord): void {
  const value = record.value.trim();
  switch (record.type) {
    case 'A':
      if (!isIPv4(value)) throw invalid(record, 'an A value must be an IPv4 address');
      return;
    case 'AAAA':
      if (!isIPv6(value)) throw invalid(record, 'an AAAA value must be an IPv6 address');
      return;
    case 'CNAME':
      if (!isDnsName(normalizeName(value))) throw invalid(record, 'a CNAME value must be a DNS name');
      return;
    case 'SRV': {
      const fields = value.split(/\s+/);
      const [priority, weight, port, target] = fields;
      const numbersOk = [priority, weight, port].every((field) => field !== undefined && /^\d{1,5}$/.test(field) && Number(field) <= 65535);
      if (fields.length !== 4 || !numbersOk || target === undefined || !(target === '.' || isDnsName(normalizeName(target)))) {
        throw invalid(record, 'an SRV value must be "priority weight port target."');
      }
      return;
    }
    case 'TXT':
      // Printable ASCII only: non-ASCII needs \DDD escapes, decimal in PowerDNS but octal in Route 53.
      if (!/^[\x20-\x7e]*$/.test(record.value)) throw invalid(record, 'a TXT value must be printable ASCII');
      return;
  }
}

/** Checks records before any change is made, and returns them in canonical form. */
export function validateRecords(zone: string, records: readonly DnsRecord[]): { zone: string; records: DnsRecord[] } {
  const zoneName = normalizeName(zone);
  if (!isDnsName(zoneName)) throw new Error(`invalid DNS zone "${zone}"`);
  const checked = records.map((record) => {
    if (!isRecordType(record.type)) throw invalid(record, `type must be one of ${[...RECORD_TYPES].join(', ')}`);
    const name = normalizeName(record.name);
    if (!isDnsName(name)) throw invalid(record, 'the name is not a valid DNS name');
    if (!isInZone(name, zoneName)) throw invalid(record, `the name is outside the zone ${zoneName}`);
    if (!Number.isInteger(record.ttl) || record.ttl < 0 || record.ttl > MAX_TTL) throw invalid(record, 'the TTL must be a whole number of seconds');
    checkValue(record);
    const value = record.type === 'TXT' ? record.value : valueKey(record.type, record.value);
    return { name, type: record.type, ttl: record.ttl, value };
  });
  return { zone: zoneName, records: checked };
}

/** TXT presentation form: quoted character-strings, `"` and `\` escaped. Input is printable ASCII. */
export function quoteTxt(value: string): string {
  const chunks: string[] = [];
  for (let i = 0; i === 0 || i < value.length; i += TXT_CHUNK) chunks.push(value.slice(i, i + TXT_CHUNK));
  return chunks.map((chunk) => `"${chunk.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(' ');
}

/**
 * Reads TXT presentation form back to the text: the character-strings concatenated, escapes
 * resolved. `\DDD` is a byte in decimal (RFC 1035, PowerDNS) or octal (Route 53).
 */
export function unquoteTxt(content: string, escapeRadix: 8 | 10): string {
  const bytes: number[] = [];
  let i = 0;
  while (i < content.length) {
    const c = content[i] ?? '';
    if (c === ' ' || c === '\t') {
      i += 1;
      continue;
    }
    const quoted = c === '"';
    if (quoted) i += 1;
    while (i < content.length) {
      const d = content[i] ?? '';
      if (quoted ? d === '"' : d === ' ' || d === '\t') break;
      if (d === '\\') {
        const digits = content.slice(i + 1, i + 4);
        if (/^\d{3}$/.test(digits)) {
          bytes.push(parseInt(digits, escapeRadix) & 0xff);
          i += 4;
          continue;
        }
        i += 1;
        if (i >= content.length) break;
      }
      const code = content.codePointAt(i) ?? 0;
      bytes.push(...Buffer.from(String.fromCodePoint(code), 'utf8'));
      i += code > 0xffff ? 2 : 1;
    }
    if (quoted) i += 1;
  }
  return Buffer.from(bytes).toString('utf8');
}

/** One record set as the provider holds it: values in the provider's encoding, kept verbatim. */
export interface StoredRrset {
  name: string;
  type: DnsRecordType;
  ttl: number;
  contents: string[];
}

/** How one provider writes and reads a value. */
export interface ValueCodec {
  encode(type: DnsRecordType, value: string): string;
  decode(type: DnsRecordType, content: string): string;
}

/** What one record set must become: `after` empty means delete it. */
export interface RrsetChange<R extends StoredRrset = StoredRrset> {
  name: string;
  type: DnsRecordType;
  current: R | undefined;
  ttl: number;
  after: string[];
}

export function rrsetKey(name: string, type: string): string {
  return `${name} ${type}`;
}

function groupByRrset(records: readonly DnsRecord[]): Map<string, DnsRecord[]> {
  const groups = new Map<string, DnsRecord[]>();
  for (const record of records) {
    const key = rrsetKey(record.name, record.type);
    groups.set(key, [...(groups.get(key) ?? []), record]);
  }
  return groups;
}

function contentKeys(rrset: StoredRrset, codec: ValueCodec): string[] {
  return rrset.contents.map((content) => valueKey(rrset.type, codec.decode(rrset.type, content)));
}

/**
 * Adds by value: the union of what is there and what is asked, or no change when every value is
 * already present. The TTL becomes the shorter of the two, so adding never lengthens how long
 * resolvers may cache someone else's values.
 */
export function planAdd<R extends StoredRrset>(records: readonly DnsRecord[], current: ReadonlyMap<string, R>, codec: ValueCodec): RrsetChange<R>[] {
  const changes: RrsetChange<R>[] = [];
  for (const [key, group] of groupByRrset(records)) {
    const first = group[0];
    if (!first) continue;
    const existing = current.get(key);
    const present = new Set(existing ? contentKeys(existing, codec) : []);
    const added: string[] = [];
    for (const record of group) {
      const k = valueKey(record.type, record.value);
      if (present.has(k)) continue;
      present.add(k);
      added.push(codec.encode(record.type, record.value));
    }
    if (added.length === 0) continue;
    const ttl = Math.min(...group.map((record) => record.ttl), ...(existing ? [existing.ttl] : []));
    changes.push({ name: first.name, type: first.type, current: existing, ttl, after: [...(existing?.contents ?? []), ...added] });
  }
  return changes;
}

/** Removes by value: what remains, or deletion when nothing does; no change when none is there. */
export function planRemove<R extends StoredRrset>(records: readonly DnsRecord[], current: ReadonlyMap<string, R>, codec: ValueCodec): RrsetChange<R>[] {
  const changes: RrsetChange<R>[] = [];
  for (const [key, group] of groupByRrset(records)) {
    const existing = current.get(key);
    if (!existing) continue;
    const removed = new Set(group.map((record) => valueKey(record.type, record.value)));
    const keys = contentKeys(existing, codec);
    const after = existing.contents.filter((_, i) => !removed.has(keys[i] ?? ''));
    if (after.length === existing.contents.length) continue;
    changes.push({ name: existing.name, type: existing.type, current: existing, ttl: existing.ttl, after });
  }
  return changes;
}

/**
 * Flattens stored record sets into the port's records, values decoded and in canonical form, so
 * they compare equal, as strings, to the records Parley plans (the DNS ledger relies on that).
 */
export function toRecords(rrsets: readonly StoredRrset[], codec: ValueCodec): DnsRecord[] {
  return rrsets.flatMap((rrset) =>
    rrset.contents.map((content) => ({
      name: rrset.name,
      type: rrset.type,
      ttl: rrset.ttl,
      value: valueKey(rrset.type, codec.decode(rrset.type, content)),
    })),
  );
}

/** Distinct names of the records, for reading only the record sets a change touches. */
export function namesOf(records: readonly DnsRecord[]): string[] {
  return [...new Set(records.map((record) => record.name))];
}
