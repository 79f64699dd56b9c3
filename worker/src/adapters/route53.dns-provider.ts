import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type Change,
  type ResourceRecordSet,
  type Route53ClientConfig,
  type RRType,
} from '@aws-sdk/client-route-53';
import type { DnsProvider, DnsRecord } from '../ports/dns-provider.js';
import { RetriesExhaustedError, retryWithBackoff, type BackoffOptions } from './backoff.js';
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

export interface Route53Options {
  /** Serialises changes per zone; pass a RedisKeyedLock when several workers share a zone. */
  lock?: KeyedLock;
  client: Route53Client;
  hostedZoneId: string;
  /** The platform zone; `ping()` proves the hosted zone is this one. */
  zone: string;
  /** Backoff on Throttling, PriorRequestNotComplete and 5xx. */
  retry?: Partial<BackoffOptions>;
  /** How often and how long to poll GetChange for INSYNC after a change. */
  sync?: { intervalMs?: number; timeoutMs?: number };
}

/**
 * The client the adapter expects: SDK retries off, because the adapter retries itself (with
 * Route 53's PriorRequestNotComplete among the retryable answers), and both layers together
 * would multiply the attempts.
 */
export function createRoute53Client(options: {
  region: string;
  endpoint?: string | undefined;
  credentials?: Route53ClientConfig['credentials'];
  /** Bound on connecting and on each request; the SDK has none by default. */
  requestTimeoutMs?: number;
}): Route53Client {
  const timeoutMs = options.requestTimeoutMs ?? 15_000;
  return new Route53Client({
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.credentials,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs },
  });
}

/** A record set that is not a plain one (alias, or weighted/latency/... routing): Parley leaves it alone. */
interface Route53Rrset extends StoredRrset {
  special: string | undefined;
}

const codec: ValueCodec = {
  encode: (type, value) => (type === 'TXT' ? quoteTxt(value) : value),
  decode: (type, content) => (type === 'TXT' ? unquoteTxt(content, 8) : content),
};

const DEFAULT_RETRY: BackoffOptions = { maxAttempts: 8, baseDelayMs: 500, maxDelayMs: 10_000 };
const RETRYABLE_CODES = new Set(['Throttling', 'ThrottlingException', 'PriorRequestNotComplete']);
/** Answers meaning the zone moved between our read and our write: read again and re-plan. */
const STALE_BATCH = /but it was not found|do not match the current values/;
const MAX_PLAN_ROUNDS = 3;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * DnsProvider over Route 53. Add and remove work by value: read the record sets with
 * ListResourceRecordSets, merge, and send one ChangeResourceRecordSets batch per call (UPSERT of
 * the union on add; UPSERT of the rest, or DELETE of the exact current set, on remove). Then
 * wait for INSYNC, so a caller that goes on to ask the CA for validation finds the records on
 * Route 53's name servers.
 */
export class Route53DnsProvider implements DnsProvider {
  readonly kind = 'route53' as const;
  private readonly lock: KeyedLock;
  private readonly retry: BackoffOptions;
  private readonly syncIntervalMs: number;
  private readonly syncTimeoutMs: number;
  private zoneName: Promise<string> | undefined;

  constructor(private readonly options: Route53Options) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.lock = options.lock ?? new InProcessKeyedLock();
    this.syncIntervalMs = options.sync?.intervalMs ?? 2_000;
    this.syncTimeoutMs = options.sync?.timeoutMs ?? 180_000;
  }

  async ping(): Promise<string> {
    const zone = normalizeName(this.options.zone);
    await this.checkZone(zone);
    return `Route 53 hosted zone ${this.options.hostedZoneId} serves ${zone}.`;
  }

  addRecords(zone: string, records: DnsRecord[]): Promise<void> {
    return this.change(zone, records, planAdd);
  }

  removeRecords(zone: string, records: DnsRecord[]): Promise<void> {
    return this.change(zone, records, planRemove);
  }

  async listRecords(zone: string, name?: string): Promise<DnsRecord[]> {
    const zoneName = normalizeName(zone);
    await this.checkZone(zoneName);
    const rrsets = name === undefined ? await this.readFrom(undefined) : await this.readRrsets([normalizeName(name)]);
    return toRecords([...rrsets.values()], codec);
  }

  private async change(
    zone: string,
    records: DnsRecord[],
    plan: (records: DnsRecord[], current: ReadonlyMap<string, Route53Rrset>, codec: ValueCodec) => RrsetChange<Route53Rrset>[],
  ): Promise<void> {
    const input = validateRecords(zone, records);
    if (input.records.length === 0) return;
    await this.checkZone(input.zone);
    // Only the read-merge-write holds the lock: once Route 53 has accepted a change, later reads
    // see it, so the next change may start while this one propagates.
    const changeId = await this.lock.run(input.zone, async () => {
      for (let round = 1; ; round += 1) {
        const current = await this.readRrsets(namesOf(input.records));
        const changes = plan(input.records, current, codec);
        if (changes.length === 0) return undefined;
        try {
          return await this.submit(input.zone, changes);
        } catch (error) {
          // "Already gone" (or changed by someone else) is not a failure: plan again from what is there.
          if (round < MAX_PLAN_ROUNDS && errorName(error) === 'InvalidChangeBatch' && STALE_BATCH.test(errorMessage(error))) continue;
          throw error;
        }
      }
    });
    if (changeId) await this.waitInSync(changeId);
  }

  /** The hosted zone's name, read once: every zone argument must be this zone. */
  private async checkZone(zone: string): Promise<void> {
    this.zoneName ??= this.send(`reading Route 53 hosted zone ${this.options.hostedZoneId}`, () =>
      this.options.client.send(new GetHostedZoneCommand({ Id: this.options.hostedZoneId })),
    ).then(
      (output) => normalizeName(decodeName(output.HostedZone?.Name ?? '')),
      (error: unknown) => {
        this.zoneName = undefined;
        throw error;
      },
    );
    const hosted = await this.zoneName;
    if (hosted !== zone) {
      throw new Error(
        `Route 53 hosted zone ${this.options.hostedZoneId} is ${hosted}., not ${zone}.: set ROUTE53_HOSTED_ZONE_ID to the hosted zone of ${zone}.`,
      );
    }
  }

  /** The record sets at each name; Route 53 lists a name's record sets together, first. */
  private async readRrsets(names: string[]): Promise<Map<string, Route53Rrset>> {
    const rrsets = new Map<string, Route53Rrset>();
    for (const name of names) {
      for (const [key, rrset] of await this.readFrom(name)) rrsets.set(key, rrset);
    }
    return rrsets;
  }

  /** Pages through ListResourceRecordSets: the whole zone, or only the record sets at `name`. */
  private async readFrom(name: string | undefined): Promise<Map<string, Route53Rrset>> {
    const rrsets = new Map<string, Route53Rrset>();
    let start: { name: string; type: RRType | undefined; identifier: string | undefined } | undefined = name
      ? { name: absoluteName(name), type: undefined, identifier: undefined }
      : undefined;
    for (;;) {
      const output = await this.send(`listing Route 53 hosted zone ${this.options.hostedZoneId}`, () =>
        this.options.client.send(
          new ListResourceRecordSetsCommand({
            HostedZoneId: this.options.hostedZoneId,
            StartRecordName: start?.name,
            StartRecordType: start?.type,
            StartRecordIdentifier: start?.identifier,
            MaxItems: name ? 20 : 300,
          }),
        ),
      );
      for (const set of output.ResourceRecordSets ?? []) {
        const setName = normalizeName(decodeName(set.Name ?? ''));
        if (name && setName !== name) return rrsets;
        if (set.Type && isRecordType(set.Type)) rrsets.set(rrsetKey(setName, set.Type), toRoute53Rrset(setName, set.Type, set));
      }
      if (!output.IsTruncated || !output.NextRecordName) return rrsets;
      start = { name: output.NextRecordName, type: output.NextRecordType, identifier: output.NextRecordIdentifier };
    }
  }

  private async submit(zone: string, changes: RrsetChange<Route53Rrset>[]): Promise<string> {
    const batch: Change[] = changes.map((change) => {
      if (change.current?.special) {
        throw new Error(`Route 53 record set ${change.type} ${change.name}. is ${change.current.special}: Parley does not change such record sets`);
      }
      const deleting = change.after.length === 0;
      // A DELETE must repeat the current set exactly, TTL and every value, or Route 53 refuses it.
      const values = deleting ? (change.current?.contents ?? []) : change.after;
      return {
        Action: deleting ? 'DELETE' : 'UPSERT',
        ResourceRecordSet: {
          Name: absoluteName(change.name),
          Type: change.type,
          TTL: deleting ? (change.current?.ttl ?? change.ttl) : change.ttl,
          ResourceRecords: values.map((Value) => ({ Value })),
        },
      };
    });
    const output = await this.send(`changing Route 53 hosted zone ${this.options.hostedZoneId} (${zone}.)`, () =>
      this.options.client.send(
        new ChangeResourceRecordSetsCommand({ HostedZoneId: this.options.hostedZoneId, ChangeBatch: { Comment: 'Parley', Changes: batch } }),
      ),
    );
    const id = output.ChangeInfo?.Id;
    if (!id) throw new Error('Route 53 accepted the change but returned no change id');
    return id;
  }

  private async waitInSync(changeId: string): Promise<void> {
    const deadline = Date.now() + this.syncTimeoutMs;
    for (;;) {
      const output = await this.send(`polling Route 53 change ${changeId}`, () =>
        this.options.client.send(new GetChangeCommand({ Id: changeId })),
      );
      const status = output.ChangeInfo?.Status;
      if (status === 'INSYNC') return;
      if (Date.now() + this.syncIntervalMs > deadline) {
        throw new Error(
          `Route 53 change ${changeId} is still ${status ?? 'unknown'} after ${this.syncTimeoutMs} ms: the change is accepted but not yet on every Route 53 name server; try again later`,
        );
      }
      await sleep(this.syncIntervalMs);
    }
  }

  /** One SDK call, retried with backoff when Route 53 asks to slow down; errors say what to fix. */
  private async send<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await retryWithBackoff(what, this.retry, isRetryable, call);
    } catch (error) {
      throw explain(what, error);
    }
  }
}

function toRoute53Rrset(name: string, type: StoredRrset['type'], set: ResourceRecordSet): Route53Rrset {
  const special = set.AliasTarget ? 'an alias' : set.SetIdentifier ? `a routing-policy set (${set.SetIdentifier})` : undefined;
  return {
    name,
    type,
    ttl: set.TTL ?? 0,
    contents: (set.ResourceRecords ?? []).flatMap((record) => (record.Value === undefined ? [] : [record.Value])),
    special,
  };
}

/** Route 53 writes characters other than letters, digits, `-` and `_` in names as `\ooo` (octal). */
function decodeName(name: string): string {
  return name.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function isRetryable(error: unknown): boolean {
  return RETRYABLE_CODES.has(errorName(error)) || (httpStatus(error) ?? 0) >= 500;
}

const HINTS: Record<string, string> = {
  NoSuchHostedZone: 'no such hosted zone: check ROUTE53_HOSTED_ZONE_ID',
  InvalidClientTokenId: 'the AWS access key is not valid: check the AWS credentials the worker runs with',
  SignatureDoesNotMatch: 'the AWS secret key does not match: check the AWS credentials the worker runs with',
  AccessDenied: 'access denied: the AWS identity needs route53:GetHostedZone, ListResourceRecordSets, ChangeResourceRecordSets and GetChange',
  CredentialsProviderError: 'no AWS credentials found: provide them through the environment, a profile or an instance role',
};

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Prefixes what was being done and, for the errors people hit, what to do about it. */
function explain(what: string, error: unknown): Error {
  const exhausted = error instanceof RetriesExhaustedError ? error : undefined;
  const last = exhausted ? exhausted.cause : error;
  const name = errorName(last);
  const code = (last as { code?: unknown } | undefined)?.code;
  const unreachable = (typeof code === 'string' && NETWORK_CODES.has(code)) || name === 'TimeoutError';
  const hint = HINTS[name] ?? (unreachable ? `Route 53 is not reachable: check the network and ROUTE53_ENDPOINT` : undefined);
  const reason = `${name}: ${errorMessage(last)}`;
  const attempts = exhausted ? ` after ${exhausted.attempts} attempts` : '';
  const wrapped = new Error(`${what} failed${attempts}: ${hint ? `${hint} (${reason})` : reason}`, { cause: last });
  // Keeps the SDK's error name, so callers (and the re-plan above) can still tell errors apart.
  wrapped.name = name || 'Error';
  return wrapped;
}
