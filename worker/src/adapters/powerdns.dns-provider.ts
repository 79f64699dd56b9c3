import type { DnsProvider, DnsRecord, DnsRecordType } from '../ports/dns-provider.js';
import { retryWithBackoff, type BackoffOptions } from './backoff.js';
import {
  absoluteName,
  isRecordType,
  namesOf,
  normalizeName,
  planAdd,
  planRemove,
  quoteTxt,
  rrsetKey,
  toRecords,
  unquoteTxt,
  validateRecords,
  type RrsetChange,
  type StoredRrset,
  type ValueCodec,
} from './dns-rrset.js';
import { InProcessKeyedLock, type KeyedLock } from './keyed-lock.js';

export interface PowerDnsOptions {
  /** Serialises changes per zone; pass a RedisKeyedLock when several workers share a zone. */
  lock?: KeyedLock;
  apiUrl: string;
  apiKey: string;
  serverId: string;
  /** The platform zone `ping()` checks. */
  zone: string;
  /** Retries on HTTP 5xx (sqlite answers 500 to concurrent writes). */
  retry?: Partial<BackoffOptions>;
  requestTimeoutMs?: number;
}

interface PdnsRrsetJson {
  name: string;
  type: string;
  ttl: number;
  records: { content: string; disabled: boolean }[];
}

/** A stored record set plus which contents are disabled, so a rewrite keeps them disabled. */
interface PdnsRrset extends StoredRrset {
  disabled: ReadonlySet<string>;
}

/** A 5xx from PowerDNS: worth another try after a pause. */
class PowerDnsServerError extends Error {
  override name = 'PowerDnsServerError';
}

const codec: ValueCodec = {
  encode: (type, value) => (type === 'TXT' ? quoteTxt(value) : value),
  decode: (type, content) => (type === 'TXT' ? unquoteTxt(content, 10) : content),
};

const DEFAULT_RETRY: BackoffOptions = { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 2_000 };

/**
 * DnsProvider over the PowerDNS HTTP API. Add and remove work by value: read the record set,
 * merge, and PATCH it with changetype REPLACE (or DELETE when no value remains), one change per
 * zone at a time. A PATCH is one transaction in PowerDNS, so a change lands whole or not at all.
 */
export class PowerDnsProvider implements DnsProvider {
  readonly kind = 'powerdns' as const;
  private readonly lock: KeyedLock;
  private readonly retry: BackoffOptions;
  private readonly baseUrl: string;

  constructor(private readonly options: PowerDnsOptions) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.lock = options.lock ?? new InProcessKeyedLock();
    this.baseUrl = options.apiUrl.replace(/\/$/, '');
  }

  async ping(): Promise<string> {
    const zone = normalizeName(this.options.zone);
    const body = (await this.call('GET', zone, '')) as { rrsets?: unknown[] };
    return `PowerDNS serves ${zone}. (${body.rrsets?.length ?? 0} rrsets)`;
  }

  addRecords(zone: string, records: DnsRecord[]): Promise<void> {
    return this.change(zone, records, planAdd);
  }

  removeRecords(zone: string, records: DnsRecord[]): Promise<void> {
    return this.change(zone, records, planRemove);
  }

  async listRecords(zone: string, name?: string): Promise<DnsRecord[]> {
    const zoneName = normalizeName(zone);
    const rrsets = await retryWithBackoff(this.what('reading', zoneName), this.retry, isServerError, () =>
      this.readRrsets(zoneName, name === undefined ? undefined : [normalizeName(name)]),
    );
    return toRecords([...rrsets.values()], codec);
  }

  private async change(
    zone: string,
    records: DnsRecord[],
    plan: (records: DnsRecord[], current: ReadonlyMap<string, PdnsRrset>, codec: ValueCodec) => RrsetChange<PdnsRrset>[],
  ): Promise<void> {
    const input = validateRecords(zone, records);
    if (input.records.length === 0) return;
    await this.lock.run(input.zone, () =>
      // The whole read-merge-write is retried, so a retry merges into what is there by then.
      retryWithBackoff(this.what('changing', input.zone), this.retry, isServerError, async () => {
        const current = await this.readRrsets(input.zone, namesOf(input.records));
        const changes = plan(input.records, current, codec);
        if (changes.length > 0) await this.patch(input.zone, changes);
      }),
    );
  }

  /** The zone's record sets of the types the port knows, all of them or those at `names`. */
  private async readRrsets(zone: string, names: string[] | undefined): Promise<Map<string, PdnsRrset>> {
    const bodies = names
      ? await Promise.all(names.map((name) => this.call('GET', zone, `?rrset_name=${encodeURIComponent(absoluteName(name))}`)))
      : [await this.call('GET', zone, '')];
    const wanted = names ? new Set(names) : undefined;
    const rrsets = new Map<string, PdnsRrset>();
    for (const body of bodies) {
      for (const rrset of (body as { rrsets?: PdnsRrsetJson[] }).rrsets ?? []) {
        const name = normalizeName(rrset.name);
        // Older PowerDNS versions ignore rrset_name and answer the whole zone.
        if (!isRecordType(rrset.type) || (wanted && !wanted.has(name))) continue;
        rrsets.set(rrsetKey(name, rrset.type), toPdnsRrset(name, rrset.type, rrset));
      }
    }
    return rrsets;
  }

  private async patch(zone: string, changes: RrsetChange<PdnsRrset>[]): Promise<void> {
    const rrsets = changes.map((change) =>
      change.after.length === 0
        ? { name: absoluteName(change.name), type: change.type, changetype: 'DELETE' }
        : {
            name: absoluteName(change.name),
            type: change.type,
            ttl: change.ttl,
            changetype: 'REPLACE',
            records: change.after.map((content) => ({ content, disabled: change.current?.disabled.has(content) ?? false })),
          },
    );
    await this.call('PATCH', zone, '', { rrsets });
  }

  private what(doing: string, zone: string): string {
    return `${doing} zone ${zone}. on PowerDNS at ${this.baseUrl}`;
  }

  /** One API call about a zone; the errors say what to fix. */
  private async call(method: 'GET' | 'PATCH', zone: string, query: string, body?: unknown): Promise<unknown> {
    const url = `${this.baseUrl}/api/v1/servers/${encodeURIComponent(this.options.serverId)}/zones/${encodeURIComponent(absoluteName(zone))}${query}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { 'X-API-Key': this.options.apiKey, Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 10_000),
      });
    } catch (error) {
      const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
      throw new Error(`PowerDNS is not reachable at ${this.baseUrl} (${reason}): is pdns_server running, and is PDNS_API_URL right?`, {
        cause: error,
      });
    }
    const text = await response.text();
    if (response.ok) return text ? (JSON.parse(text) as unknown) : undefined;
    const detail = errorDetail(text);
    if (response.status === 401 || response.status === 403) {
      throw new Error(`PowerDNS at ${this.baseUrl} rejected the API key: set PDNS_API_KEY to the api-key in its configuration`);
    }
    if (response.status === 404) {
      throw new Error(`PowerDNS at ${this.baseUrl} does not serve the zone ${zone}.: create the zone, or check PLATFORM_ZONE and the zone asked for`);
    }
    if (response.status >= 500) throw new PowerDnsServerError(`PowerDNS answered HTTP ${response.status}: ${detail}`);
    throw new Error(`PowerDNS at ${this.baseUrl} refused ${method} on zone ${zone}. (HTTP ${response.status}): ${detail}`);
  }
}

function isServerError(error: unknown): boolean {
  return error instanceof PowerDnsServerError;
}

function toPdnsRrset(name: string, type: DnsRecordType, rrset: PdnsRrsetJson): PdnsRrset {
  return {
    name,
    type,
    ttl: rrset.ttl,
    contents: rrset.records.map((record) => record.content),
    disabled: new Set(rrset.records.filter((record) => record.disabled).map((record) => record.content)),
  };
}

/** PowerDNS puts the reason in `{"error": ...}`; some answers are plain text. */
function errorDetail(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // Not JSON: the text itself is the reason.
  }
  return text.trim().slice(0, 300) || '(empty answer)';
}
