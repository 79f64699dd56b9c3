import { isIPv4 } from 'node:net';
import { assertDomain } from '../contracts/domain-name.js';
import { assertUsername } from '../contracts/xmpp-names.js';
import type { ContainerFile } from '../ports/container-runtime.js';
import { CONTACT_KINDS, contactAddressesProblems, type ContactAddresses } from '../contracts/contact-addresses.js';

/** Ports Prosody listens on inside the container (the node maps its own ports onto these). */
const PROSODY_PORTS = { c2s: 5222, c2sDirectTls: 5223, s2s: 5269, https: 5281, http: 5280 } as const;

/** Where Prosody's metrics (mod_http_openmetrics) answer: plain HTTP on the container's address. */
export const PROSODY_METRICS = { port: PROSODY_PORTS.http, path: '/metrics' } as const;

const DEFAULT_UPLOAD_SIZE_LIMIT_BYTES = 100 * 1024 * 1024;

export interface ProsodyConfigInput {
  domain: string;
  adminJid: string;
  /** Whether other XMPP servers may connect (s2s). */
  federation: boolean;
  /** Ports as the outside world sees them: https goes into the upload URL clients are given. */
  ports: { https: number };
  /** Total size of all uploaded files kept by http_file_share. */
  storageQuotaBytes?: number;
  /** Largest single upload; defaults to 100 MiB, never more than the storage quota. */
  uploadSizeLimitBytes?: number;
  /**
   * Whether TRUSTED_ROOTS_FILE is written (roots of a CA outside the system store, Pebble in the
   * sandbox): peers' certificates are verified against it as well as the system store.
   */
  extraTrustedRoots?: boolean;
  /**
   * A special-use top-level domain the platform's names live under (`test` in the sandbox), which
   * Prosody's resolver (libunbound) would otherwise answer NXDOMAIN for without asking anyone.
   */
  specialUseTld?: 'test';
  /** XEP-0157 addresses the customer set; abuse falls back to the admin's address. */
  contacts?: ContactAddresses;
  /** Audio and video calls: the node's STUN/TURN server, advertised through XEP-0215. */
  calls?: ProsodyCallsInput;
}

/**
 * mod_turn_external's settings: clients asking for external services (XEP-0215) get the STUN
 * and TURN (UDP and TCP) entries, the TURN ones with credentials Prosody derives from the
 * server's secret (TURN REST: username `<expiry>:<user>`, password an HMAC of it), which coturn
 * checks against the same secret. The secret itself is in TURN_SECRET_FILE, not here.
 */
export interface ProsodyCallsInput {
  /** Where clients reach the TURN server: the node's public address or name. */
  host: string;
  port: number;
  /** The credentials' user part: the server's id, so coturn's per-user quota is per hosted server. */
  user: string;
  /** How long a credential handed out stays valid. */
  credentialTtlSeconds: number;
  /** TURN over TLS: the name the node's TURN certificate is for, and its port; absent: none. */
  tls?: { host: string; port: number };
}

/** The file holding the server's TURN secret (0440, like the TLS key), included by the config. */
export const TURN_SECRET_FILE = 'turn-secret.cfg.lua';

/** Where extra trusted roots go in the config volume; relative paths resolve against it. */
export const TRUSTED_ROOTS_FILE = 'trust/roots.pem';

export class InvalidConfigValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidConfigValueError';
  }
}

/** `user@domain` with both parts passing their grammars; returns the normalised JID. */
export function assertBareJid(input: string): string {
  const at = typeof input === 'string' ? input.indexOf('@') : -1;
  if (at <= 0) throw new InvalidConfigValueError('A JID must look like user@chat.example.com.');
  return `${assertUsername(input.slice(0, at))}@${assertDomain(input.slice(at + 1))}`;
}

function assertPort(port: number, what: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidConfigValueError(`${what} must be a TCP port (1-65535), got ${port}`);
  return port;
}

function assertCalls(calls: ProsodyCallsInput): ProsodyCallsInput {
  const host = isIPv4(calls.host) ? calls.host : assertDomain(calls.host);
  if (!/^[A-Za-z0-9-]{1,64}$/.test(calls.user)) throw new InvalidConfigValueError(`calls.user must be 1-64 letters, digits and hyphens, got ${calls.user}`);
  const ttl = calls.credentialTtlSeconds;
  if (!Number.isInteger(ttl) || ttl < 60 || ttl > 7 * 86_400) throw new InvalidConfigValueError(`calls.credentialTtlSeconds must be 60-604800, got ${ttl}`);
  const tls = calls.tls && { host: assertDomain(calls.tls.host), port: assertPort(calls.tls.port, 'calls.tls.port') };
  return { host, port: assertPort(calls.port, 'calls.port'), user: calls.user, credentialTtlSeconds: ttl, ...(tls ? { tls } : {}) };
}

/** The VirtualHost's lines for calls; its secret comes from the Include in the global section. */
function callsLines(calls: ProsodyCallsInput): string[] {
  return [
    `\t-- Calls: the node's STUN/TURN server, with credentials per request (XEP-0215).`,
    `\tmodules_enabled = ${luaList(['turn_external'])}`,
    `\tturn_external_host = ${luaString(calls.host)}`,
    `\tturn_external_port = ${calls.port}`,
    `\tturn_external_tcp = true`,
    `\tturn_external_user = ${luaString(calls.user)}`,
    `\tturn_external_ttl = ${calls.credentialTtlSeconds}`,
  ];
}

/**
 * TURN_SECRET_FILE's content. An included file is read as the global section. Prosody 0.12's
 * mod_turn_external advertises `turns` without credentials, so TURN over TLS is an explicit
 * external_services entry with the same secret and user (mod_external_services then derives the
 * credentials exactly as for turn), which is why it lives in this file and not in the config.
 */
export function renderTurnSecretFile(secret: string, callsInput: ProsodyCallsInput): string {
  if (secret.length < 16) throw new InvalidConfigValueError('the TURN secret must be at least 16 characters');
  const calls = assertCalls(callsInput);
  const lines = [`turn_external_secret = ${luaString(secret)}`];
  if (calls.tls) {
    const entry = [
      `type = ${luaString('turns')}`,
      `transport = ${luaString('tcp')}`,
      `host = ${luaString(calls.tls.host)}`,
      `port = ${calls.tls.port}`,
      `username = ${luaString(calls.user)}`,
      `secret = ${luaString(secret)}`,
      `algorithm = ${luaString('turn')}`,
      `ttl = ${calls.credentialTtlSeconds}`,
    ];
    lines.push(`external_services = { { ${entry.join('; ')} } }`);
  }
  return `${lines.join('\n')}\n`;
}

function assertByteCount(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidConfigValueError(`${what} must be a positive whole number of bytes, got ${value}`);
  return value;
}

/**
 * A Lua string literal for any value: double-quoted, with backslash, quote and every byte
 * outside printable ASCII written as a decimal escape. The grammars already refuse such
 * characters; this is the second wall, so no value can ever end the string and become code.
 */
export function luaString(value: string): string {
  let out = '"';
  for (const byte of Buffer.from(value, 'utf8')) {
    if (byte === 0x22) out += '\\"';
    else if (byte === 0x5c) out += '\\\\';
    else if (byte === 0x0a) out += '\\n';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    // Three digits always, so a following digit can never extend the escape.
    else out += `\\${byte.toString().padStart(3, '0')}`;
  }
  return `${out}"`;
}

const luaList = (values: readonly string[]) => `{ ${values.map(luaString).join('; ')} }`;
const luaNumbers = (values: readonly number[]) => `{ ${values.join('; ')} }`;

/**
 * Bumped when a change to the rendered configuration must reach servers already running: the
 * reconciler finds those with an older one (config_outdated) and reinstalls it.
 * Servers configured before versions were recorded have 0. 2: no invites_adhoc, no contact invites.
 * 3: calls (mod_turn_external and the TURN secret's file); federation in the sandbox (its CA's
 * roots, .test names resolved); XEP-0157 contact addresses, ALPN on direct TLS, MUC avatars.
 * 4: TURN over TLS (a turns entry with credentials, in the TURN secret's file).
 * 5: metrics (mod_http_openmetrics) on the container's plain HTTP port for the platform.
 */
export const PROSODY_CONFIG_VERSION = 5;

/** Every module of XEP-0479 Compliance Suites 2023 (IM + Mobile), plus invites and the admin shell. */
const BASE_MODULES = [
  // core
  'roster', 'saslauth', 'tls', 'disco', 'private', 'ping', 'time', 'version', 'uptime',
  // lets logged-in users change their password; registration itself stays invite-only
  'register',
  // Compliance Suites 2023: IM + Mobile
  'carbons', 'pep', 'mam', 'smacks', 'csi_simple', 'blocklist', 'bookmarks', 'vcard4', 'vcard_legacy', 'cloud_notify',
  // invite-only registration, driven by the API through the admin shell. Not invites_adhoc: its
  // commands let the customer's admin (and users) mint invites, so accounts, past the plan's seats.
  'invites', 'invites_register',
  // `prosodyctl shell` through docker exec
  'admin_shell',
  // XEP-0157: who to contact about the server (abuse, support, security), in its disco#info
  'server_contact_info',
  // sessions, connections, memory for the platform's Prometheus
  'http_openmetrics',
] as const;

function prosodyModules(federation: boolean): string[] {
  // dialback lets servers that cannot do SASL EXTERNAL authenticate us; s2s_secure_auth still
  // demands a valid certificate from every peer.
  return federation ? [...BASE_MODULES, 'dialback'] : [...BASE_MODULES];
}

/** contact_info's table: the admin's address, and each kind the customer set (abuse: the admin's by default). */
function contactInfo(adminJid: string, contacts: ContactAddresses): Record<string, string[]> {
  const problems = Object.entries(contactAddressesProblems(contacts));
  if (problems.length > 0) throw new InvalidConfigValueError(`contacts.${problems[0]?.[0] ?? ''}: ${problems[0]?.[1] ?? ''}`);
  const admin = [`xmpp:${adminJid}`];
  const info: Record<string, string[]> = { admin };
  for (const kind of CONTACT_KINDS) {
    const set = contacts[kind] ?? [];
    if (set.length > 0) info[kind] = set;
    else if (kind === 'abuse') info[kind] = admin;
  }
  return info;
}

/** Renders a server's prosody.cfg.lua. Pure: every value is validated, then quoted. */
export function renderProsodyConfig(input: ProsodyConfigInput): string {
  const domain = assertDomain(input.domain);
  const adminJid = assertBareJid(input.adminJid);
  const httpsPort = assertPort(input.ports.https, 'ports.https');
  const quota = input.storageQuotaBytes === undefined ? undefined : assertByteCount(input.storageQuotaBytes, 'storageQuotaBytes');
  const requestedLimit = assertByteCount(input.uploadSizeLimitBytes ?? DEFAULT_UPLOAD_SIZE_LIMIT_BYTES, 'uploadSizeLimitBytes');
  const uploadLimit = quota === undefined ? requestedLimit : Math.min(requestedLimit, quota);
  if (typeof input.federation !== 'boolean') throw new InvalidConfigValueError('federation must be true or false');
  const federation = input.federation;
  const calls = input.calls === undefined ? undefined : assertCalls(input.calls);
  const contacts = contactInfo(adminJid, input.contacts ?? {});
  const conference = `conference.${domain}`;
  const upload = `upload.${domain}`;
  // The components' names must pass the grammar too (length limits).
  assertDomain(conference);
  assertDomain(upload);

  const lines = [
    `-- Rendered by the Parley worker for ${domain}; rewritten on every change, do not edit.`,
    `admins = ${luaList([adminJid])}`,
    `modules_enabled = ${luaList(prosodyModules(federation))}`,
    ...(federation ? [] : [`-- Federation is off: no s2s listener, no connections to other servers.`, `modules_disabled = ${luaList(['s2s'])}`]),
    '',
    `pidfile = ${luaString('/run/prosody/prosody.pid')}`,
    `log = { { levels = { min = ${luaString('info')} }; to = ${luaString('console')} } }`,
    `authentication = ${luaString('internal_hashed')}`,
    `storage = ${luaString('internal')}`,
    `allow_registration = false`,
    `registration_invite_only = true`,
    `-- Only Parley's invites make accounts: an invite to be someone's contact does not.`,
    `allow_contact_invites = false`,
    `allow_user_invites = false`,
    `c2s_require_encryption = true`,
    `s2s_require_encryption = true`,
    `s2s_secure_auth = true`,
    '',
    `-- <domain>.crt covers the domain and both components; Prosody indexes it by its names.`,
    `certificates = ${luaString('certs')}`,
    ...(input.specialUseTld === 'test' ? [`-- libunbound serves .test as an empty local zone by default: let it ask the name servers.`, `unbound = { options = { [${luaString('local-zone:')}] = ${luaString('test. transparent')} } }`] : []),
    ...(input.extraTrustedRoots ? [`-- Peers' certificates may come from the sandbox's CA: its roots, beside the system store.`, `ssl = { cafile = ${luaString(TRUSTED_ROOTS_FILE)} }`] : []),
    '',
    `-- IPv4 only: a container without IPv6 would log a bind error for "::" at every start.`,
    `interfaces = ${luaList(['*'])}`,
    `local_interfaces = ${luaList(['127.0.0.1'])}`,
    `c2s_ports = ${luaNumbers([PROSODY_PORTS.c2s])}`,
    `c2s_direct_tls_ports = ${luaNumbers([PROSODY_PORTS.c2sDirectTls])}`,
    `-- XEP-0368: direct TLS names its protocol (ALPN), so a TLS front end can tell XMPP apart.`,
    // A list: LuaSec refuses a plain string as a server's ALPN ("invalid ALPN parameter").
    `c2s_direct_tls_ssl = { alpn = ${luaList(['xmpp-client'])} }`,
    ...(federation ? [`s2s_ports = ${luaNumbers([PROSODY_PORTS.s2s])}`] : []),
    `https_ports = ${luaNumbers([PROSODY_PORTS.https])}`,
    `-- Plain HTTP, not published: only this node reaches it (the tenant bridge keeps containers`,
    `-- apart), for checks and for the metrics the platform's Prometheus reads through the worker.`,
    `http_ports = ${luaNumbers([PROSODY_PORTS.http])}`,
    `http_interfaces = ${luaList(['*'])}`,
    `statistics = ${luaString('internal')}`,
    `statistics_interval = ${luaString('manual')}`,
    `openmetrics_allow_cidr = ${luaString('0.0.0.0/0')}`,
    '',
    ...(calls ? [`-- The TURN secret, readable by Prosody but kept out of this file.`, `Include ${luaString(TURN_SECRET_FILE)}`, ''] : []),
    `VirtualHost ${luaString(domain)}`,
    `\tcontact_info = { ${Object.entries(contacts).map(([kind, uris]) => `${kind} = ${luaList(uris)}`).join('; ')} }`,
    ...(calls ? callsLines(calls) : []),
    '',
    `Component ${luaString(conference)} ${luaString('muc')}`,
    `\tmodules_enabled = ${luaList(['muc_mam', 'vcard_muc'])}`,
    `\trestrict_room_creation = ${luaString('local')}`,
    '',
    `Component ${luaString(upload)} ${luaString('http_file_share')}`,
    `\thttp_external_url = ${luaString(`https://${upload}:${httpsPort}/`)}`,
    `\thttp_file_share_size_limit = ${uploadLimit}`,
    ...(quota === undefined ? [] : [`\thttp_file_share_global_quota = ${quota}`]),
    '',
  ];
  return lines.join('\n');
}

/**
 * The files the worker writes below /etc/parley: the config, and the certificate and key under
 * the name Prosody's discovery looks for (certs/<domain>.crt + .key; the components find it
 * through the names in the certificate, or by falling back to their parent domain).
 */
export function prosodyFiles(input: { config: string; chainPem: string; privateKeyPem: string; domain: string; turn?: { secret: string; calls: ProsodyCallsInput } }): ContainerFile[] {
  const [config, chain, key] = prosodyFilePaths(input.domain);
  return [
    { path: config, content: input.config, mode: 0o644 },
    { path: chain, content: input.chainPem, mode: 0o644 },
    { path: key, content: input.privateKeyPem, mode: 0o440, secret: true },
    ...(input.turn === undefined ? [] : [{ path: TURN_SECRET_FILE, content: renderTurnSecretFile(input.turn.secret, input.turn.calls), mode: 0o440, secret: true }]),
  ];
}

/** Where the configuration, the certificate chain and its key live in the config volume. */
export function prosodyFilePaths(domainName: string): [config: string, chain: string, key: string] {
  const domain = assertDomain(domainName);
  return ['prosody.cfg.lua', `certs/${domain}.crt`, `certs/${domain}.key`];
}
