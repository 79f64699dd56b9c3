import { describe, expect, it } from 'vitest';
import { InvalidDomainError } from '../../worker/src/contracts/domain-name.js';
import {
  InvalidConfigValueError,
  prosodyFiles,
  renderProsodyConfig,
  renderTurnSecretFile,
  TURN_SECRET_FILE,
  type ProsodyCallsInput,
  type ProsodyConfigInput,
} from '../../worker/src/provisioning/prosody-config.js';

const DOMAIN = 'alice.parley.test';
const SERVER_ID = '01a22c9c-2078-71ec-a116-708d348917c8';
const base: ProsodyConfigInput = { domain: DOMAIN, adminJid: `admin@${DOMAIN}`, federation: false, ports: { https: 15281 } };
const calls: ProsodyCallsInput = { host: '10.213.0.1', port: 3478, user: SERVER_ID, credentialTtlSeconds: 86_400 };

/** The lines of the VirtualHost section, up to the next section. */
function virtualHostLines(config: string): string[] {
  const lines = config.split('\n');
  const start = lines.indexOf(`VirtualHost "${DOMAIN}"`);
  const end = lines.findIndex((line, i) => i > start && line.startsWith('Component '));
  return lines.slice(start + 1, end).map((line) => line.trim()).filter((line) => line && !line.startsWith('--'));
}

describe('renderProsodyConfig with calls', () => {
  it('loads turn_external on the VirtualHost only, with host, port, TCP, the server as user and the TTL', () => {
    const config = renderProsodyConfig({ ...base, calls });
    expect(config.split('\n').filter((line) => line.includes('turn_external')).length).toBe(6);
    expect(virtualHostLines(config).filter((line) => line.includes('turn_external'))).toEqual([
      'modules_enabled = { "turn_external" }',
      'turn_external_host = "10.213.0.1"',
      'turn_external_port = 3478',
      'turn_external_tcp = true',
      `turn_external_user = "${SERVER_ID}"`,
      'turn_external_ttl = 86400',
    ]);
  });

  it('includes the secret from its own file before the VirtualHost, and never holds a secret itself', () => {
    const config = renderProsodyConfig({ ...base, calls });
    const include = config.indexOf(`Include "${TURN_SECRET_FILE}"`);
    expect(include).toBeGreaterThan(0);
    expect(include).toBeLessThan(config.indexOf('VirtualHost'));
    expect(config).not.toContain('turn_external_secret');
  });

  it('renders nothing of calls without them', () => {
    const config = renderProsodyConfig(base);
    expect(config).not.toContain('turn_external');
    expect(config).not.toContain('Include');
  });

  it('accepts a host name as the TURN host and refuses what is neither an IPv4 address nor a name', () => {
    expect(renderProsodyConfig({ ...base, calls: { ...calls, host: 'turn.node1.parley.test' } })).toContain('turn_external_host = "turn.node1.parley.test"');
    expect(() => renderProsodyConfig({ ...base, calls: { ...calls, host: 'a"; os.exit() --' } })).toThrow(InvalidDomainError);
  });

  it('refuses a user, port or TTL out of bounds', () => {
    expect(() => renderProsodyConfig({ ...base, calls: { ...calls, user: 'a:b' } })).toThrow(InvalidConfigValueError);
    expect(() => renderProsodyConfig({ ...base, calls: { ...calls, port: 0 } })).toThrow(InvalidConfigValueError);
    expect(() => renderProsodyConfig({ ...base, calls: { ...calls, credentialTtlSeconds: 30 } })).toThrow(InvalidConfigValueError);
    expect(() => renderProsodyConfig({ ...base, calls: { ...calls, credentialTtlSeconds: 8 * 86_400 } })).toThrow(InvalidConfigValueError);
  });
});

describe('the TURN secret file', () => {
  it('sets turn_external_secret as an escaped Lua string', () => {
    expect(renderTurnSecretFile('abcdefghijklmnop"x', calls)).toBe('turn_external_secret = "abcdefghijklmnop\\"x"\n');
  });

  it('refuses a secret too short to be one', () => {
    expect(() => renderTurnSecretFile('short', calls)).toThrow(InvalidConfigValueError);
  });

  it('adds TURN over TLS as an explicit entry with the same secret, user and TTL (Prosody 0.12 gives turns no credentials)', () => {
    const file = renderTurnSecretFile('abcdefghijklmnopqrstuvwx', { ...calls, tls: { host: 'turn.node1.parley.test', port: 5349 } });
    expect(file.split('\n')).toEqual([
      'turn_external_secret = "abcdefghijklmnopqrstuvwx"',
      `external_services = { { type = "turns"; transport = "tcp"; host = "turn.node1.parley.test"; port = 5349; username = "${SERVER_ID}"; secret = "abcdefghijklmnopqrstuvwx"; algorithm = "turn"; ttl = 86400 } }`,
      '',
    ]);
  });

  it('refuses a TLS host that is no name (an address cannot match the certificate) and a TLS port out of range', () => {
    expect(() => renderTurnSecretFile('abcdefghijklmnopqrstuvwx', { ...calls, tls: { host: '10.213.0.1', port: 5349 } })).toThrow(InvalidDomainError);
    expect(() => renderTurnSecretFile('abcdefghijklmnopqrstuvwx', { ...calls, tls: { host: 'turn.node1.parley.test', port: 70_000 } })).toThrow(InvalidConfigValueError);
  });

  it('is a secret file (0440, hashed by path only) beside the config when a secret is given, and absent otherwise', () => {
    const files = prosodyFiles({ config: 'CONFIG', chainPem: 'CHAIN', privateKeyPem: 'KEY', domain: DOMAIN, turn: { secret: 'abcdefghijklmnopqrstuvwx', calls } });
    expect(files.find((f) => f.path === TURN_SECRET_FILE)).toEqual({ path: TURN_SECRET_FILE, content: 'turn_external_secret = "abcdefghijklmnopqrstuvwx"\n', mode: 0o440, secret: true });
    expect(prosodyFiles({ config: 'CONFIG', chainPem: 'CHAIN', privateKeyPem: 'KEY', domain: DOMAIN }).some((f) => f.path === TURN_SECRET_FILE)).toBe(false);
  });
});
