import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';

// Route 53 cannot be reached from here and no emulator installs, so the Route 53 adapter is tested
// through the real AWS SDK against this local endpoint. It speaks the REST/XML subset the adapter
// uses (GetHostedZone, ListResourceRecordSets, ChangeResourceRecordSets, GetChange), keeps one
// hosted zone in memory with Route 53's semantics, and checks every request it receives: anything
// malformed gets Route 53's InvalidInput / InvalidChangeBatch answer and is recorded in
// `malformed`, so a test can assert that the adapter never sent an invalid request.
//
// Route 53's name servers are part of the service too: with `nameServers`, each accepted change
// batch is written to a PowerDNS zone before the change is answered, so resolvers (and an ACME
// CA validating DNS-01) asking that PowerDNS see what Route 53 would serve. Only what the fake
// accepted is written, record set by record set as the fake then holds it, and never over a
// record set the fake did not write there itself.

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';
const CHANGE_TYPES = new Set(['A', 'AAAA', 'CNAME', 'SRV', 'TXT']);
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=[^/\s]+\/\d{8}\/[a-z0-9-]+\/route53\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/;

export type Route53Operation = 'GetHostedZone' | 'ListResourceRecordSets' | 'ChangeResourceRecordSets' | 'GetChange' | 'Unknown';

export interface LoggedRequest {
  operation: Route53Operation;
  method: string;
  path: string;
  status: number;
  /** When it arrived (Date.now()): how often GetChange is polled is part of what is checked. */
  at: number;
  /** The error code answered, if any. */
  error?: string;
  /** The request body (ChangeResourceRecordSets). */
  body?: string;
  /** The batch as the fake read it (ChangeResourceRecordSets that passed the checks). */
  changes?: FakeChange[];
  /** The change id answered (ChangeResourceRecordSets) or asked about (GetChange). */
  changeId?: string;
  /** What GetChange answered. */
  changeStatus?: 'PENDING' | 'INSYNC';
}

/** A request the real Route 53 would have refused as malformed, or that broke this subset's rules. */
export interface MalformedRequest {
  operation: Route53Operation;
  code: string;
  message: string;
  body: string;
}

export interface FakeRrset {
  name: string;
  type: string;
  ttl: number;
  values: string[];
}

export interface FakeChange {
  action: string;
  rrset: FakeRrset;
}

/**
 * Route 53's limits on one ChangeResourceRecordSets request (the "Quotas" page of the Route 53
 * developer guide): Change elements, ResourceRecord elements and characters in Value elements,
 * where an UPSERT counts its records and characters twice.
 */
export const ROUTE53_CHANGE_LIMITS = { changes: 1000, resourceRecords: 1000, valueCharacters: 32_000 } as const;

/** A batch's size the way Route 53 counts it against ROUTE53_CHANGE_LIMITS. */
export function changeBatchSize(changes: readonly FakeChange[]): { changes: number; resourceRecords: number; valueCharacters: number } {
  const weight = (change: FakeChange) => (change.action === 'UPSERT' ? 2 : 1);
  return {
    changes: changes.length,
    resourceRecords: changes.reduce((sum, change) => sum + weight(change) * change.rrset.values.length, 0),
    valueCharacters: changes.reduce((sum, change) => sum + weight(change) * change.rrset.values.reduce((n, value) => n + value.length, 0), 0),
  };
}

/** The PowerDNS that plays Route 53's name servers; its zone of the hosted zone's name must exist. */
export interface PowerDnsNameServers {
  apiUrl: string;
  apiKey: string;
  serverId: string;
}

export interface FakeRoute53Options {
  /** The hosted zone's name, without the trailing dot. */
  zone: string;
  hostedZoneId?: string;
  /** GetChange answers PENDING this many times per change, then INSYNC. */
  pendingPolls?: number;
  /**
   * How long a ChangeResourceRecordSets takes; another change arriving meanwhile gets
   * PriorRequestNotComplete, as on Route 53.
   */
  changeLatencyMs?: number;
  /** Where accepted changes are served from, as Route 53's name servers would serve them. */
  nameServers?: PowerDnsNameServers;
}

// ---------------------------------------------------------------------------------------------
// A strict parser for the XML subset the SDK sends: a declaration, elements, attributes, text and
// character references. Anything else (DOCTYPE, comments, CDATA, prefixes, mixed content) is an
// error, which is what a test wants to hear about.

interface XmlElement {
  name: string;
  attributes: Map<string, string>;
  children: XmlElement[];
  text: string;
}

class XmlError extends Error {}

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function isNameStart(c: string): boolean {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c === '_';
}

function isNameChar(c: string): boolean {
  return isNameStart(c) || (c >= '0' && c <= '9') || c === '-' || c === '.';
}

function parseXml(input: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => {
    throw new XmlError(`${why} at offset ${i}`);
  };
  const peek = (s: string) => input.startsWith(s, i);
  const skipSpace = () => {
    while (i < input.length && ' \t\r\n'.includes(input[i] ?? '')) i += 1;
  };
  const expect = (s: string) => {
    if (!peek(s)) fail(`expected "${s}"`);
    i += s.length;
  };
  const readName = (): string => {
    const start = i;
    if (!isNameStart(input[i] ?? '')) fail('expected a name');
    while (i < input.length && isNameChar(input[i] ?? '')) i += 1;
    if (input[i] === ':') fail('namespace prefixes are not part of this subset');
    return input.slice(start, i);
  };
  /** Text up to `stop`, character references resolved; a raw `<` or a bare `&` is an error. */
  const readCharacters = (stop: string): string => {
    let out = '';
    while (i < input.length && input[i] !== stop) {
      const c = input[i] ?? '';
      if (c === '<') fail('"<" in text');
      if (c === '&') {
        const end = input.indexOf(';', i);
        if (end < 0 || end - i > 10) fail('unterminated character reference');
        const ref = input.slice(i + 1, end);
        let code: number | undefined;
        if (ref.startsWith('#x')) code = /^#x[0-9a-fA-F]+$/.test(ref) ? parseInt(ref.slice(2), 16) : undefined;
        else if (ref.startsWith('#')) code = /^#\d+$/.test(ref) ? parseInt(ref.slice(1), 10) : undefined;
        const decoded = code !== undefined && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : NAMED_ENTITIES[ref];
        if (decoded === undefined) fail(`unknown reference "&${ref};"`);
        out += decoded;
        i = end + 1;
        continue;
      }
      const code = c.charCodeAt(0);
      if (code < 0x20 && c !== '\t' && c !== '\n' && c !== '\r') fail('control character');
      out += c;
      i += 1;
    }
    return out;
  };
  const element = (): XmlElement => {
    expect('<');
    const name = readName();
    const attributes = new Map<string, string>();
    for (;;) {
      skipSpace();
      if (peek('/>')) {
        i += 2;
        return { name, attributes, children: [], text: '' };
      }
      if (peek('>')) {
        i += 1;
        break;
      }
      const attribute = readName();
      skipSpace();
      expect('=');
      skipSpace();
      const quote = input[i];
      if (quote !== '"' && quote !== "'") fail('attribute value not quoted');
      i += 1;
      const value = readCharacters(quote ?? '"');
      expect(quote ?? '"');
      if (attributes.has(attribute)) fail(`attribute ${attribute} given twice`);
      attributes.set(attribute, value);
    }
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      if (i >= input.length) fail(`element <${name}> not closed`);
      if (peek('</')) {
        i += 2;
        const closing = readName();
        if (closing !== name) fail(`</${closing}> closes <${name}>`);
        skipSpace();
        expect('>');
        break;
      }
      if (peek('<!') || peek('<?')) fail('comments, CDATA, DOCTYPE and processing instructions are not part of this subset');
      if (peek('<')) children.push(element());
      else text += readCharacters('<');
    }
    if (children.length > 0 && text.trim() !== '') fail(`mixed content in <${name}>`);
    return { name, attributes, children, text: children.length > 0 ? '' : text };
  };

  if (peek('<?xml')) {
    const end = input.indexOf('?>', i);
    if (end < 0) fail('unterminated XML declaration');
    i = end + 2;
  }
  skipSpace();
  const root = element();
  skipSpace();
  if (i !== input.length) fail('content after the root element');
  return root;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

type XmlTree = string | number | boolean | XmlTree[] | { [element: string]: XmlTree };

/** `{ A: 'x', B: [{ C: 1 }, { C: 2 }] }` → `<A>x</A><B><C>1</C></B><B><C>2</C></B>` */
function xml(tree: XmlTree): string {
  if (typeof tree !== 'object') return escapeXml(String(tree));
  if (Array.isArray(tree)) return tree.map(xml).join('');
  return Object.entries(tree)
    .map(([name, value]) => (Array.isArray(value) ? value.map((item) => `<${name}>${xml(item)}</${name}>`).join('') : `<${name}>${xml(value)}</${name}>`))
    .join('');
}

function document(root: string, body: XmlTree): string {
  return `<?xml version="1.0"?>\n<${root} xmlns="${NS}">${xml(body)}</${root}>`;
}

// ---------------------------------------------------------------------------------------------

/** An answer to send: Route 53's error document with its HTTP status. */
class Route53Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Whether the request was malformed (a bug in the caller), not merely refused. */
    readonly malformed: boolean,
  ) {
    super(message);
  }
}

const invalidInput = (message: string) => new Route53Error(400, 'InvalidInput', message, true);
const invalidBatch = (messages: string[], malformed: boolean) => new Route53Error(400, 'InvalidChangeBatch', `[${messages.join(', ')}]`, malformed);

/** Route 53 lists names with their labels reversed (com.example.www), then by type. */
function sortKey(name: string): string[] {
  return name.replace(/\.$/, '').split('.').reverse();
}

function compareRrsets(a: { name: string; type: string }, b: { name: string; type: string }): number {
  const ka = sortKey(a.name);
  const kb = sortKey(b.name);
  for (let i = 0; i < Math.min(ka.length, kb.length); i += 1) {
    const x = ka[i] ?? '';
    const y = kb[i] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  if (ka.length !== kb.length) return ka.length - kb.length;
  return a.type === b.type ? 0 : a.type < b.type ? -1 : 1;
}

/** Checks one TXT value: quoted character-strings of at most 255 bytes, escapes `\"`, `\\`, `\ooo`. */
function txtProblem(value: string): string | undefined {
  let i = 0;
  let strings = 0;
  while (i < value.length) {
    if (value[i] === ' ') {
      i += 1;
      continue;
    }
    if (value[i] !== '"') return 'Value should be enclosed in quotation marks';
    i += 1;
    let bytes = 0;
    for (;;) {
      const c = value[i];
      if (c === undefined) return 'unterminated quoted string';
      if (c === '"') break;
      if (c === '\\') {
        if (/^[0-7]{3}$/.test(value.slice(i + 1, i + 4))) i += 4;
        else if (value[i + 1] === '"' || value[i + 1] === '\\') i += 2;
        else return `unknown escape "\\${value[i + 1] ?? ''}"`;
      } else {
        if (c < ' ' || c > '~') return 'characters other than printable ASCII must be escaped as \\ooo';
        i += 1;
      }
      bytes += 1;
    }
    if (bytes > 255) return 'a character-string is longer than 255 bytes';
    strings += 1;
    i += 1;
    if (i < value.length && value[i] !== ' ') return 'character-strings must be separated by a space';
  }
  return strings === 0 ? 'empty TXT value' : undefined;
}

function isAbsoluteName(name: string): boolean {
  return name.endsWith('.') && name.slice(0, -1).split('.').every((label) => LABEL.test(label.toLowerCase()));
}

function valueProblem(type: string, value: string): string | undefined {
  switch (type) {
    case 'A':
      return isIPv4(value) ? undefined : 'not an IPv4 address';
    case 'AAAA':
      return isIPv6(value) ? undefined : 'not an IPv6 address';
    case 'CNAME':
      return isAbsoluteName(value) ? undefined : 'the target must be an absolute name ending in "."';
    case 'SRV': {
      const fields = value.split(' ');
      const numbers = fields.slice(0, 3);
      const target = fields[3] ?? '';
      const ok = fields.length === 4 && numbers.every((n) => /^\d{1,5}$/.test(n) && Number(n) <= 65535) && (target === '.' || isAbsoluteName(target));
      return ok ? undefined : 'expected "priority weight port target." with the target absolute';
    }
    case 'TXT':
      return txtProblem(value);
    default:
      return `type ${type} is not part of this subset`;
  }
}

function only(parent: XmlElement, name: string, required = true): XmlElement | undefined {
  const found = parent.children.filter((child) => child.name === name);
  if (found.length > 1) throw invalidInput(`Invalid XML ; element ${name} given ${found.length} times in ${parent.name}`);
  if (required && found.length === 0) throw invalidInput(`Invalid XML ; ${parent.name} is missing ${name}`);
  return found[0];
}

function leafText(parent: XmlElement, name: string, required = true): string | undefined {
  const element = only(parent, name, required);
  if (!element) return undefined;
  if (element.children.length > 0) throw invalidInput(`Invalid XML ; ${name} must hold text`);
  return element.text;
}

function allowOnly(element: XmlElement, names: string[]): void {
  const unexpected = element.children.find((child) => !names.includes(child.name));
  if (unexpected) throw invalidInput(`Invalid XML ; unexpected element ${unexpected.name} in ${element.name} (this fake supports ${names.join(', ')})`);
}

/** Route 53 escapes characters in TXT values as `\ooo` (octal), PowerDNS as `\DDD` (decimal). */
function powerDnsContent(type: string, value: string): string {
  if (type !== 'TXT') return value;
  return value.replace(/\\(?:([0-7]{3})|(.))/g, (_, octal: string | undefined, other: string) =>
    octal === undefined ? `\\${other}` : `\\${String(parseInt(octal, 8)).padStart(3, '0')}`,
  );
}

/** Writes accepted record sets to PowerDNS (see the top of this file). */
class PowerDnsMirror {
  /** The record sets it wrote that PowerDNS still serves, by `name type`: only these may be replaced or deleted. */
  private readonly written = new Map<string, { name: string; type: string }>();

  constructor(
    private readonly options: PowerDnsNameServers,
    private readonly zone: string,
  ) {}

  /** Makes PowerDNS hold each of these record sets as `state` has it (absent: deleted). */
  async serve(rrsets: readonly { name: string; type: string }[], state: ReadonlyMap<string, FakeRrset>): Promise<void> {
    const fresh = rrsets.filter((rrset) => !this.written.has(`${rrset.name} ${rrset.type}`));
    const taken = await this.present(fresh);
    if (taken.length > 0) {
      throw new Error(`PowerDNS already serves ${taken.join(', ')}, which this fake did not write: it will not overwrite them`);
    }
    await this.patch(
      rrsets.map(({ name, type }) => {
        const rrset = state.get(`${name} ${type}`);
        return rrset
          ? { name, type, ttl: rrset.ttl, changetype: 'REPLACE', records: rrset.values.map((value) => ({ content: powerDnsContent(type, value), disabled: false })) }
          : { name, type, changetype: 'DELETE' };
      }),
    );
    for (const { name, type } of rrsets) {
      if (state.has(`${name} ${type}`)) this.written.set(`${name} ${type}`, { name, type });
      else this.written.delete(`${name} ${type}`);
    }
  }

  /** Deletes what it wrote and still serves, so a run that stopped half-way leaves nothing in the shared zone. */
  async withdraw(): Promise<void> {
    const rrsets = [...this.written.values()];
    if (rrsets.length > 0) await this.patch(rrsets.map(({ name, type }) => ({ name, type, changetype: 'DELETE' })));
    this.written.clear();
  }

  private async present(rrsets: readonly { name: string; type: string }[]): Promise<string[]> {
    const taken: string[] = [];
    for (const name of new Set(rrsets.map((rrset) => rrset.name))) {
      const body = (await this.call('GET', `?rrset_name=${encodeURIComponent(name)}`)) as { rrsets?: { name: string; type: string }[] };
      for (const served of body.rrsets ?? []) {
        // Older PowerDNS versions ignore rrset_name and answer the whole zone.
        if (rrsets.some((rrset) => rrset.name === served.name.toLowerCase() && rrset.type === served.type)) taken.push(`${served.type} ${served.name}`);
      }
    }
    return taken;
  }

  private async patch(rrsets: object[]): Promise<void> {
    await this.call('PATCH', '', { rrsets });
  }

  private async call(method: 'GET' | 'PATCH', query: string, body?: object): Promise<unknown> {
    const url = `${this.options.apiUrl}/api/v1/servers/${encodeURIComponent(this.options.serverId)}/zones/${encodeURIComponent(this.zone)}${query}`;
    const response = await fetch(url, {
      method,
      headers: { 'X-API-Key': this.options.apiKey, Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`PowerDNS ${method} ${url}: HTTP ${response.status} ${text}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  }
}

export class FakeRoute53 {
  readonly hostedZoneId: string;
  readonly zone: string;
  /** Every request, in arrival order. */
  readonly requests: LoggedRequest[] = [];
  /** Requests the fake refused as malformed: a correct adapter causes none. */
  readonly malformed: MalformedRequest[] = [];
  /** Accepted changes that could not be written to the name servers: answered as InternalFailure. */
  readonly nameServerErrors: string[] = [];
  pendingPolls: number;
  changeLatencyMs: number;
  private readonly rrsets = new Map<string, FakeRrset>();
  private readonly changes = new Map<string, { polls: number }>();
  private readonly faults: { code: 'Throttling' | 'PriorRequestNotComplete'; operation: Route53Operation | undefined }[] = [];
  private beforeNextChange: (() => void) | undefined;
  private changeInFlight = false;
  private nextChangeId = 1;
  private readonly mirror: PowerDnsMirror | undefined;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    options: FakeRoute53Options,
  ) {
    this.zone = `${options.zone.replace(/\.$/, '').toLowerCase()}.`;
    this.hostedZoneId = options.hostedZoneId ?? 'ZFAKE0PARLEY0TEST';
    this.pendingPolls = options.pendingPolls ?? 0;
    this.changeLatencyMs = options.changeLatencyMs ?? 0;
    this.mirror = options.nameServers && new PowerDnsMirror(options.nameServers, this.zone);
    this.seed(this.zone, 'SOA', 900, ['ns-1.awsdns-00.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400']);
    this.seed(this.zone, 'NS', 172800, ['ns-1.awsdns-00.com.', 'ns-2.awsdns-00.net.', 'ns-3.awsdns-00.org.', 'ns-4.awsdns-00.co.uk.']);
  }

  static async start(options: FakeRoute53Options): Promise<FakeRoute53> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('fake Route 53 did not get a TCP port');
    const fake = new FakeRoute53(server, `http://127.0.0.1:${address.port}`, options);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      fake.handle(req, res).catch((error: unknown) => {
        res.writeHead(500);
        res.end(String(error));
      });
    });
    return fake;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.mirror?.withdraw();
  }

  /** Answers the next `count` matching calls with a throttling error instead of serving them. */
  failNext(count: number, code: 'Throttling' | 'PriorRequestNotComplete', operation?: Route53Operation): void {
    for (let n = 0; n < count; n += 1) this.faults.push({ code, operation });
  }

  /** Runs `action` when the next change batch arrives, before it is applied: someone else's edit. */
  onNextChange(action: () => void): void {
    this.beforeNextChange = action;
  }

  /** Sets a record set directly (values in Route 53's presentation form), as another tool would. */
  seed(name: string, type: string, ttl: number, values: string[]): void {
    const absolute = `${name.replace(/\.$/, '').toLowerCase()}.`;
    this.rrsets.set(`${absolute} ${type}`, { name: absolute, type, ttl, values: [...values] });
  }

  deleteRrset(name: string, type: string): void {
    this.rrsets.delete(`${name.replace(/\.$/, '').toLowerCase()}. ${type}`);
  }

  rrset(name: string, type: string): FakeRrset | undefined {
    return this.rrsets.get(`${name.replace(/\.$/, '').toLowerCase()}. ${type}`);
  }

  /** The whole hosted zone, in Route 53's listing order. */
  allRrsets(): FakeRrset[] {
    return [...this.rrsets.values()].sort(compareRrsets).map((rrset) => ({ ...rrset, values: [...rrset.values] }));
  }

  count(operation: Route53Operation): number {
    return this.requests.filter((request) => request.operation === operation).length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const at = Date.now();
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    const route = this.route(method, url.pathname);
    const entry: LoggedRequest = { operation: route.operation, method, path: `${url.pathname}${url.search}`, status: 200, at };
    if (route.operation === 'ChangeResourceRecordSets') entry.body = body;
    this.requests.push(entry);

    let status = 200;
    let answer: string;
    try {
      this.checkSigned(req);
      const fault = this.faults.findIndex((f) => f.operation === undefined || f.operation === route.operation);
      if (fault >= 0) {
        const { code } = this.faults.splice(fault, 1)[0] ?? { code: 'Throttling' };
        throw new Route53Error(400, code, code === 'Throttling' ? 'Rate exceeded' : 'The request was rejected because Route 53 was still processing a prior request.', false);
      }
      answer = await route.serve(url, body, entry);
    } catch (error) {
      if (!(error instanceof Route53Error)) throw error;
      status = error.status;
      entry.error = error.code;
      if (error.malformed) this.malformed.push({ operation: route.operation, code: error.code, message: error.message, body });
      answer = document('ErrorResponse', { Error: { Type: 'Sender', Code: error.code, Message: error.message }, RequestId: randomUUID() });
    }
    entry.status = status;
    res.writeHead(status, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': randomUUID() });
    res.end(answer);
  }

  /** Every request must carry a SigV4 signature for the route53 service. */
  private checkSigned(req: IncomingMessage): void {
    const authorization = req.headers.authorization ?? '';
    if (!AUTHORIZATION.test(authorization) || !req.headers['x-amz-date']) {
      throw new Route53Error(403, 'IncompleteSignature', `The request signature does not conform to AWS standards: "${authorization}"`, true);
    }
  }

  private route(method: string, path: string): { operation: Route53Operation; serve: (url: URL, body: string, entry: LoggedRequest) => Promise<string> } {
    const parts = path.split('/').filter(Boolean);
    const [version, kind, id, sub] = parts;
    const unknown = {
      operation: 'Unknown' as const,
      serve: () => Promise.reject(invalidInput(`${method} ${path} is not part of this fake's Route 53 subset`)),
    };
    if (version !== '2013-04-01' || !id) return unknown;
    if (kind === 'hostedzone' && parts.length === 3 && method === 'GET') {
      return { operation: 'GetHostedZone', serve: () => Promise.resolve(this.getHostedZone(id)) };
    }
    if (kind === 'hostedzone' && sub === 'rrset' && parts.length === 4) {
      if (method === 'GET') return { operation: 'ListResourceRecordSets', serve: (url) => Promise.resolve(this.list(id, url.searchParams)) };
      if (method === 'POST') return { operation: 'ChangeResourceRecordSets', serve: (_, body, entry) => this.change(id, body, entry) };
    }
    if (kind === 'change' && parts.length === 3 && method === 'GET') {
      return { operation: 'GetChange', serve: (_, __, entry) => Promise.resolve(this.getChange(id, entry)) };
    }
    return unknown;
  }

  private checkZoneId(id: string): void {
    if (id !== this.hostedZoneId) throw new Route53Error(404, 'NoSuchHostedZone', `No hosted zone found with ID: ${id}`, false);
  }

  private getHostedZone(id: string): string {
    this.checkZoneId(id);
    return document('GetHostedZoneResponse', {
      HostedZone: {
        Id: `/hostedzone/${this.hostedZoneId}`,
        Name: this.zone,
        CallerReference: 'parley-fake',
        Config: { PrivateZone: false },
        ResourceRecordSetCount: this.rrsets.size,
      },
      DelegationSet: { NameServers: { NameServer: this.rrset(this.zone, 'NS')?.values.map((ns) => ns.replace(/\.$/, '')) ?? [] } },
    });
  }

  private list(id: string, query: URLSearchParams): string {
    this.checkZoneId(id);
    const known = new Set(['name', 'type', 'identifier', 'maxitems']);
    const extra = [...query.keys()].find((key) => !known.has(key));
    if (extra) throw invalidInput(`unexpected query parameter ${extra}`);
    const name = query.get('name');
    const type = query.get('type');
    if (type !== null && name === null) throw invalidInput('A type was specified without a name');
    if (name !== null && !isAbsoluteName(name)) throw invalidInput(`name "${name}" must be absolute, ending in "."`);
    const maxText = query.get('maxitems') ?? '300';
    if (!/^\d+$/.test(maxText) || Number(maxText) < 1) throw invalidInput(`maxitems "${maxText}" must be a positive number`);
    const maxItems = Math.min(300, Number(maxText));
    const sorted = [...this.rrsets.values()].sort(compareRrsets);
    const start = name === null ? 0 : sorted.findIndex((rrset) => compareRrsets(rrset, { name: name.toLowerCase(), type: type ?? '' }) >= 0);
    const from = start < 0 ? sorted.length : start;
    const page = sorted.slice(from, from + maxItems);
    const next = sorted[from + maxItems];
    return document('ListResourceRecordSetsResponse', {
      ResourceRecordSets: {
        ResourceRecordSet: page.map((rrset) => ({
          Name: rrset.name,
          Type: rrset.type,
          TTL: rrset.ttl,
          ResourceRecords: { ResourceRecord: rrset.values.map((Value) => ({ Value })) },
        })),
      },
      IsTruncated: next !== undefined,
      ...(next ? { NextRecordName: next.name, NextRecordType: next.type } : {}),
      MaxItems: maxItems,
    });
  }

  private async change(id: string, body: string, entry: LoggedRequest): Promise<string> {
    this.checkZoneId(id);
    const changes = this.parseChangeBatch(body);
    entry.changes = changes;
    if (this.changeInFlight) {
      throw new Route53Error(400, 'PriorRequestNotComplete', 'The request was rejected because Route 53 was still processing a prior request.', false);
    }
    this.changeInFlight = true;
    try {
      if (this.changeLatencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.changeLatencyMs));
      const hook = this.beforeNextChange;
      this.beforeNextChange = undefined;
      hook?.();
      const working = this.applied(changes);
      await this.serveOnNameServers(changes, working);
      this.rrsets.clear();
      for (const [key, rrset] of working) this.rrsets.set(key, rrset);
    } finally {
      this.changeInFlight = false;
    }
    const changeId = `C${String(this.nextChangeId++).padStart(12, '0')}`;
    entry.changeId = changeId;
    this.changes.set(changeId, { polls: 0 });
    return document('ChangeResourceRecordSetsResponse', {
      ChangeInfo: { Id: `/change/${changeId}`, Status: 'PENDING', SubmittedAt: new Date().toISOString(), Comment: 'Parley' },
    });
  }

  /** Checks the request document against Route 53's schema and rules, for the supported subset. */
  private parseChangeBatch(body: string): FakeChange[] {
    let root: XmlElement;
    try {
      root = parseXml(body);
    } catch (error) {
      if (error instanceof XmlError) throw invalidInput(`Invalid XML ; ${error.message}`);
      throw error;
    }
    if (root.name !== 'ChangeResourceRecordSetsRequest') throw invalidInput(`Invalid XML ; root element ${root.name}, expected ChangeResourceRecordSetsRequest`);
    if (root.attributes.get('xmlns') !== NS) throw invalidInput(`Invalid XML ; the namespace must be ${NS}, not "${root.attributes.get('xmlns') ?? ''}"`);
    allowOnly(root, ['ChangeBatch']);
    const batch = only(root, 'ChangeBatch') as XmlElement;
    allowOnly(batch, ['Changes', 'Comment']);
    leafText(batch, 'Comment', false);
    const list = only(batch, 'Changes') as XmlElement;
    allowOnly(list, ['Change']);
    if (list.children.length === 0 || list.children.length > ROUTE53_CHANGE_LIMITS.changes) {
      throw invalidInput(`Invalid XML ; Changes must hold 1 to ${ROUTE53_CHANGE_LIMITS.changes} Change elements`);
    }

    const problems: string[] = [];
    const seen = new Set<string>();
    const changes = list.children.map((change): FakeChange => {
      allowOnly(change, ['Action', 'ResourceRecordSet']);
      const action = leafText(change, 'Action') ?? '';
      if (!['CREATE', 'DELETE', 'UPSERT'].includes(action)) throw invalidInput(`Invalid XML ; Action "${action}" is not CREATE, DELETE or UPSERT`);
      const set = only(change, 'ResourceRecordSet') as XmlElement;
      allowOnly(set, ['Name', 'Type', 'TTL', 'ResourceRecords']);
      const name = leafText(set, 'Name') ?? '';
      const type = leafText(set, 'Type') ?? '';
      const ttlText = leafText(set, 'TTL', false);
      const records = only(set, 'ResourceRecords', false);
      if (ttlText === undefined || records === undefined) {
        throw invalidInput(`Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords]], but found none in Change with [Action=${action}, Name=${name}, Type=${type}]`);
      }
      if (!/^\d{1,10}$/.test(ttlText) || Number(ttlText) > 2_147_483_647) throw invalidInput(`Invalid XML ; TTL "${ttlText}" is not a number of seconds`);
      if (!CHANGE_TYPES.has(type)) throw invalidInput(`Invalid XML ; type "${type}" is not part of this fake's subset`);
      allowOnly(records, ['ResourceRecord']);
      if (records.children.length === 0) throw invalidInput('Invalid XML ; ResourceRecords must hold at least one ResourceRecord');
      const values = records.children.map((record) => {
        allowOnly(record, ['Value']);
        return leafText(record, 'Value') ?? '';
      });

      const lower = name.toLowerCase();
      if (!isAbsoluteName(name)) problems.push(`Invalid name "${name}": names must be absolute, ending in "."`);
      else if (lower !== this.zone && !lower.endsWith(`.${this.zone}`)) problems.push(`RRSet with DNS name ${name} is not permitted in zone ${this.zone}`);
      const key = `${lower} ${type}`;
      if (seen.has(key)) problems.push(`The request contains an invalid set of changes for a resource record set '${type} ${lower}'`);
      seen.add(key);
      for (const value of values) {
        const problem = valueProblem(type, value);
        if (problem) problems.push(`Invalid Resource Record: FATAL problem: ${problem} encountered with '${value}'`);
      }
      const duplicate = values.find((value, index) => values.indexOf(value) !== index);
      if (duplicate !== undefined) problems.push(`Duplicate Resource Record: '${duplicate}'`);
      if (type === 'CNAME' && values.length > 1) problems.push(`RRSet of type CNAME with DNS name ${lower} has more than one value`);
      return { action, rrset: { name: lower, type, ttl: Number(ttlText), values } };
    });
    const size = changeBatchSize(changes);
    if (size.resourceRecords > ROUTE53_CHANGE_LIMITS.resourceRecords) problems.push(`Number of records limit of ${ROUTE53_CHANGE_LIMITS.resourceRecords} exceeded.`);
    if (size.valueCharacters > ROUTE53_CHANGE_LIMITS.valueCharacters) problems.push(`RDATA character limit of ${ROUTE53_CHANGE_LIMITS.valueCharacters} exceeded.`);
    if (problems.length > 0) throw invalidBatch(problems, true);
    return changes;
  }

  /** The zone with the batch applied, or the refusal: a batch lands whole or not at all. */
  private applied(changes: FakeChange[]): Map<string, FakeRrset> {
    const working = new Map(this.rrsets);
    const refusals: string[] = [];
    for (const { action, rrset } of changes) {
      const key = `${rrset.name} ${rrset.type}`;
      const current = working.get(key);
      const label = `[name='${rrset.name}', type='${rrset.type}']`;
      if (action === 'CREATE') {
        if (current) refusals.push(`Tried to create resource record set ${label} but it already exists`);
        else working.set(key, rrset);
      } else if (action === 'DELETE') {
        if (!current) refusals.push(`Tried to delete resource record set ${label} but it was not found`);
        else if (current.ttl !== rrset.ttl || [...current.values].sort().join('\n') !== [...rrset.values].sort().join('\n')) {
          refusals.push(`Tried to delete resource record set ${label} but the values provided do not match the current values`);
        } else working.delete(key);
      } else {
        working.set(key, rrset);
      }
    }
    for (const rrset of working.values()) {
      if (rrset.type !== 'CNAME') continue;
      if ([...working.values()].some((other) => other.name === rrset.name && other.type !== 'CNAME')) {
        refusals.push(`RRSet of type CNAME with DNS name ${rrset.name} is not permitted as it conflicts with other records with the same DNS name in zone ${this.zone}`);
      }
    }
    if (refusals.length > 0) throw invalidBatch(refusals, false);
    return working;
  }

  /** The name servers get the batch before it is accepted; if they cannot, nothing is accepted. */
  private async serveOnNameServers(changes: FakeChange[], working: ReadonlyMap<string, FakeRrset>): Promise<void> {
    if (!this.mirror) return;
    try {
      await this.mirror.serve(
        changes.map(({ rrset }) => ({ name: rrset.name, type: rrset.type })),
        working,
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.nameServerErrors.push(message);
      throw new Route53Error(500, 'InternalFailure', `the change could not reach the name servers: ${message}`, false);
    }
  }

  private getChange(id: string, entry: LoggedRequest): string {
    entry.changeId = id;
    const change = this.changes.get(id);
    if (!change) throw new Route53Error(404, 'NoSuchChange', `A change with the specified change ID does not exist: ${id}`, false);
    change.polls += 1;
    const status = change.polls > this.pendingPolls ? 'INSYNC' : 'PENDING';
    entry.changeStatus = status;
    return document('GetChangeResponse', { ChangeInfo: { Id: `/change/${id}`, Status: status, SubmittedAt: new Date().toISOString() } });
  }
}
