import { assertDomain } from '../contracts/domain-name.js';
import { assertUsername } from '../contracts/xmpp-names.js';
import type { ContainerFile } from '../ports/container-runtime.js';

/** Ports Prosody listens on inside the container (the node maps its own ports onto these). */
const PROSODY_PORTS = { c2s: 5222, c2sDirectTls: 5223, s2s: 5269, https: 5281, httpLoopback: 5280 } as const;

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
}

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
 */
export const PROSODY_CONFIG_VERSION = 2;

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
] as const;

function prosodyModules(federation: boolean): string[] {
  // dialback lets servers that cannot do SASL EXTERNAL authenticate us; s2s_secure_auth still
  // demands a valid certificate from every peer.
  return federation ? [...BASE_MODULES, 'dialback'] : [...BASE_MODULES];
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
    '',
    `-- IPv4 only: a container without IPv6 would log a bind error for "::" at every start.`,
    `interfaces = ${luaList(['*'])}`,
    `local_interfaces = ${luaList(['127.0.0.1'])}`,
    `c2s_ports = ${luaNumbers([PROSODY_PORTS.c2s])}`,
    `c2s_direct_tls_ports = ${luaNumbers([PROSODY_PORTS.c2sDirectTls])}`,
    ...(federation ? [`s2s_ports = ${luaNumbers([PROSODY_PORTS.s2s])}`] : []),
    `https_ports = ${luaNumbers([PROSODY_PORTS.https])}`,
    `-- Plain HTTP only on loopback, for checks from inside the container.`,
    `http_ports = ${luaNumbers([PROSODY_PORTS.httpLoopback])}`,
    `http_interfaces = ${luaList(['127.0.0.1'])}`,
    '',
    `VirtualHost ${luaString(domain)}`,
    '',
    `Component ${luaString(conference)} ${luaString('muc')}`,
    `\tmodules_enabled = ${luaList(['muc_mam'])}`,
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
export function prosodyFiles(input: { config: string; chainPem: string; privateKeyPem: string; domain: string }): ContainerFile[] {
  const [config, chain, key] = prosodyFilePaths(input.domain);
  return [
    { path: config, content: input.config, mode: 0o644 },
    { path: chain, content: input.chainPem, mode: 0o644 },
    { path: key, content: input.privateKeyPem, mode: 0o440, secret: true },
  ];
}

/** Where the configuration, the certificate chain and its key live in the config volume. */
export function prosodyFilePaths(domainName: string): [config: string, chain: string, key: string] {
  const domain = assertDomain(domainName);
  return ['prosody.cfg.lua', `certs/${domain}.crt`, `certs/${domain}.key`];
}
