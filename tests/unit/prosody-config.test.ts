import { describe, expect, it } from 'vitest';
import { InvalidDomainError } from '../../worker/src/contracts/domain-name.js';
import {
  assertBareJid,
  InvalidConfigValueError,
  luaString,
  prosodyFiles,
  renderProsodyConfig,
  type ProsodyConfigInput,
} from '../../worker/src/provisioning/prosody-config.js';

const DOMAIN = 'alice.parley.test';
const base: ProsodyConfigInput = { domain: DOMAIN, adminJid: `admin@${DOMAIN}`, federation: false, ports: { https: 15281 } };

/** The config with comments and every Lua string literal removed: what is left is syntax. */
function withoutStrings(config: string): string {
  return config
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .replace(/"(?:[^"\\\n]|\\.)*"/g, 'S');
}

function setting(config: string, key: string): string | undefined {
  return new RegExp(`^\\s*${key} = (.*)$`, 'm').exec(config)?.[1];
}

const COMPLIANCE_MODULES = [
  'roster', 'saslauth', 'tls', 'disco', 'carbons', 'pep', 'mam', 'smacks', 'csi_simple', 'blocklist', 'bookmarks',
  'vcard4', 'vcard_legacy', 'private', 'ping', 'time', 'version', 'uptime', 'cloud_notify', 'admin_shell',
  'invites', 'invites_register',
];

describe('renderProsodyConfig', () => {
  it('publishes XEP-0157 contact addresses: the admin always, abuse falling back to the admin, the rest as set', () => {
    const plain = renderProsodyConfig(base);
    expect(setting(plain, 'modules_enabled')).toContain('"server_contact_info"');
    expect(setting(plain, 'contact_info')).toBe(`{ admin = { "xmpp:admin@${DOMAIN}" }; abuse = { "xmpp:admin@${DOMAIN}" } }`);
    const set = renderProsodyConfig({ ...base, contacts: { abuse: ['mailto:abuse@example.com'], support: ['https://example.com/help'] } });
    expect(setting(set, 'contact_info')).toBe(`{ admin = { "xmpp:admin@${DOMAIN}" }; abuse = { "mailto:abuse@example.com" }; support = { "https://example.com/help" } }`);
    expect(() => renderProsodyConfig({ ...base, contacts: { abuse: ['javascript:alert(1)'] } })).toThrow(InvalidConfigValueError);
  });

  it('names xmpp-client in ALPN on direct TLS', () => {
    const config = renderProsodyConfig(base);
    expect(setting(config, 'c2s_direct_tls_ssl')).toBe('{ alpn = { "xmpp-client" } }');
  });

  it('lets libunbound resolve .test names and trusts extra roots only when asked (the sandbox)', () => {
    expect(setting(renderProsodyConfig(base), 'unbound')).toBeUndefined();
    expect(setting(renderProsodyConfig(base), 'ssl')).toBeUndefined();
    const sandbox = renderProsodyConfig({ ...base, specialUseTld: 'test', extraTrustedRoots: true });
    expect(setting(sandbox, 'unbound')).toBe('{ options = { ["local-zone:"] = "test. transparent" } }');
    expect(setting(sandbox, 'ssl')).toBe('{ cafile = "trust/roots.pem" }');
  });

  it('enables every Compliance Suites 2023 IM + Mobile module, invites and the admin shell', () => {
    const modules = setting(renderProsodyConfig(base), 'modules_enabled');
    for (const name of COMPLIANCE_MODULES) expect(modules).toContain(`"${name}"`);
  });

  it('hosts the domain, a MUC with MAM and an upload component with an https URL on the external port', () => {
    const config = renderProsodyConfig({ ...base, storageQuotaBytes: 1024 * 1024 * 1024 });
    expect(config).toContain(`VirtualHost "${DOMAIN}"`);
    expect(config).toMatch(new RegExp(`Component "conference\\.${DOMAIN}" "muc"\\n\\tmodules_enabled = \\{ "muc_mam"; "vcard_muc" \\}`));
    expect(config).toContain(`Component "upload.${DOMAIN}" "http_file_share"`);
    expect(config).toContain(`http_external_url = "https://upload.${DOMAIN}:15281/"`);
    expect(setting(config, 'http_file_share_size_limit')).toBe(String(100 * 1024 * 1024));
    expect(setting(config, 'http_file_share_global_quota')).toBe(String(1024 * 1024 * 1024));
  });

  it('never allows a single upload larger than the storage quota', () => {
    const config = renderProsodyConfig({ ...base, storageQuotaBytes: 5_000_000 });
    expect(setting(config, 'http_file_share_size_limit')).toBe('5000000');
  });

  it('requires encryption and valid certificates, registers by invite only, keeps plain HTTP on loopback', () => {
    const config = renderProsodyConfig(base);
    expect(setting(config, 'admins')).toBe(`{ "admin@${DOMAIN}" }`);
    expect(setting(config, 'allow_registration')).toBe('false');
    expect(setting(config, 'c2s_require_encryption')).toBe('true');
    expect(setting(config, 's2s_require_encryption')).toBe('true');
    expect(setting(config, 's2s_secure_auth')).toBe('true');
    expect(setting(config, 'authentication')).toBe('"internal_hashed"');
    expect(setting(config, 'c2s_ports')).toBe('{ 5222 }');
    expect(setting(config, 'c2s_direct_tls_ports')).toBe('{ 5223 }');
    expect(setting(config, 'https_ports')).toBe('{ 5281 }');
    expect(setting(config, 'http_interfaces')).toBe('{ "*" }');
    expect(setting(config, 'statistics_interval')).toBe('"manual"');
    expect(setting(config, 'modules_enabled')).toContain('"http_openmetrics"');
    expect(setting(config, 'pidfile')).toBe('"/run/prosody/prosody.pid"');
    expect(setting(config, 'certificates')).toBe('"certs"');
    expect(setting(config, 'log')).toContain('"console"');
  });

  it('without federation: s2s disabled, no s2s port, no dialback', () => {
    const config = renderProsodyConfig({ ...base, federation: false });
    expect(setting(config, 'modules_disabled')).toBe('{ "s2s" }');
    expect(setting(config, 's2s_ports')).toBeUndefined();
    expect(config).not.toContain('"dialback"');
  });

  it('with federation: s2s on 5269, dialback for peers without SASL EXTERNAL', () => {
    const config = renderProsodyConfig({ ...base, federation: true });
    expect(setting(config, 'modules_disabled')).toBeUndefined();
    expect(setting(config, 's2s_ports')).toBe('{ 5269 }');
    expect(setting(config, 'modules_enabled')).toContain('"dialback"');
  });

  it.each([true, false])('writes every value as a quoted string, a number or a boolean (federation %s)', (federation) => {
    const config = renderProsodyConfig({ ...base, federation, storageQuotaBytes: 123456789 });
    const syntax = withoutStrings(config);
    // No name survives outside a string literal...
    expect(syntax).not.toContain('parley');
    expect(syntax).not.toContain('admin@');
    // ...and what remains is assignments of S(trings), numbers, booleans and tables of them.
    for (const line of syntax.split('\n').filter((l) => l.trim() !== '')) {
      expect(line).toMatch(/^\t?([a-z_0-9]+ = (S|\d+|true|false|\{[ S\d;]*\}|\{ \{ levels = \{ min = S \}; to = S \} \}|\{ alpn = \{ S \} \}|\{ [a-z]+ = \{[ S;]*\}(; [a-z]+ = \{[ S;]*\})* \})|VirtualHost S|Component S S)$/);
    }
  });

  it.each([
    'evil".parley.test',
    "evil'.parley.test",
    'evil\n.parley.test',
    'evil]].parley.test',
    'a\\.parley.test',
    'a--[[.parley.test',
    'evil\u0000.parley.test',
    'x" } os.execute("id") --.parley.test',
  ])('refuses the domain %j before rendering anything', (domain) => {
    expect(() => renderProsodyConfig({ ...base, domain })).toThrow(InvalidDomainError);
    expect(() => prosodyFiles({ config: '', chainPem: '', privateKeyPem: '', domain })).toThrow(InvalidDomainError);
  });

  it.each([
    'admin"@alice.parley.test',
    'admin\n@alice.parley.test',
    '@alice.parley.test',
    'admin',
    'Admin@alice.parley.test',
    'a..b@alice.parley.test',
    'admin@alice".parley.test',
  ])('refuses the admin JID %j', (adminJid) => {
    expect(() => renderProsodyConfig({ ...base, adminJid })).toThrow(/JID|username|domain|part/i);
  });

  it.each([0, -1, 65536, 1.5, Number.NaN])('refuses the https port %s', (https) => {
    expect(() => renderProsodyConfig({ ...base, ports: { https } })).toThrow(InvalidConfigValueError);
  });

  it('refuses a non-positive quota', () => {
    expect(() => renderProsodyConfig({ ...base, storageQuotaBytes: 0 })).toThrow(InvalidConfigValueError);
  });

  it('normalises the domain the grammar accepts', () => {
    expect(renderProsodyConfig({ ...base, domain: 'Alice.Parley.Test.' })).toContain(`VirtualHost "${DOMAIN}"`);
    expect(assertBareJid('admin@Alice.Parley.Test')).toBe(`admin@${DOMAIN}`);
  });
});

describe('luaString', () => {
  it.each([
    ['plain', 'alice.parley.test', '"alice.parley.test"'],
    ['a quote', 'a"b', '"a\\"b"'],
    ['a backslash', 'a\\b', '"a\\\\b"'],
    ['a newline', 'a\nb', '"a\\nb"'],
    ['a carriage return', 'a\rb', '"a\\013b"'],
    ['a NUL followed by a digit', 'a\u00001', '"a\\0001"'],
    ['a tab', '\t', '"\\009"'],
    ['DEL', '\u007f', '"\\127"'],
    ['non-ASCII, as UTF-8 bytes', 'é', '"\\195\\169"'],
    ['a long-string end', ']]', '"]]"'],
    ['an attempt to close the string', '" os.exit() --', '"\\" os.exit() --"'],
  ])('escapes %s', (_what, value, expected) => {
    expect(luaString(value)).toBe(expected);
  });

  it('never lets a quote or a line break through unescaped', () => {
    let all = '';
    for (let code = 0; code < 256; code++) all += String.fromCharCode(code);
    const literal = luaString(all);
    const inner = literal.slice(1, -1);
    expect(inner.replace(/\\(\d{3}|["\\n])/g, '')).toMatch(/^[\x20-\x7e]*$/);
    expect(inner.replace(/\\\\|\\"/g, '')).not.toContain('"');
    expect(literal).not.toMatch(/[\n\r]/);
  });
});

describe('prosodyFiles', () => {
  it('writes the config, the chain and the key where Prosody looks for the domain, the key secret', () => {
    const files = prosodyFiles({ config: 'CONFIG', chainPem: 'CHAIN', privateKeyPem: 'KEY', domain: DOMAIN });
    expect(files).toEqual([
      { path: 'prosody.cfg.lua', content: 'CONFIG', mode: 0o644 },
      { path: `certs/${DOMAIN}.crt`, content: 'CHAIN', mode: 0o644 },
      { path: `certs/${DOMAIN}.key`, content: 'KEY', mode: 0o440, secret: true },
    ]);
  });
});
