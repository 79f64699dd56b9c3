import { describe, expect, it } from 'vitest';
import { acmeChallengeName, certificateNames, DEFAULT_TTL, planServerRecords, type ServerDnsInput } from '../../worker/src/provisioning/dns-plan.js';

const input: ServerDnsInput = {
  domain: 'alice.parley.test',
  nodeAddress: '127.0.0.1',
  ports: { c2s: 15222, c2sDirectTls: 15223, s2s: 15269, https: 15443 },
  federation: true,
};

describe('planServerRecords', () => {
  it('plans client SRV (STARTTLS and direct TLS), server SRV for the domain and conference, and A records', () => {
    expect(planServerRecords(input)).toEqual([
      { name: '_xmpp-client._tcp.alice.parley.test', type: 'SRV', ttl: DEFAULT_TTL, value: '0 5 15222 alice.parley.test.' },
      { name: '_xmpps-client._tcp.alice.parley.test', type: 'SRV', ttl: DEFAULT_TTL, value: '0 5 15223 alice.parley.test.' },
      { name: '_xmpp-server._tcp.alice.parley.test', type: 'SRV', ttl: DEFAULT_TTL, value: '0 5 15269 alice.parley.test.' },
      { name: '_xmpp-server._tcp.conference.alice.parley.test', type: 'SRV', ttl: DEFAULT_TTL, value: '0 5 15269 alice.parley.test.' },
      { name: 'alice.parley.test', type: 'A', ttl: DEFAULT_TTL, value: '127.0.0.1' },
      { name: 'conference.alice.parley.test', type: 'A', ttl: DEFAULT_TTL, value: '127.0.0.1' },
      { name: 'upload.alice.parley.test', type: 'A', ttl: DEFAULT_TTL, value: '127.0.0.1' },
    ]);
  });

  it('says "no server-to-server service here" (SRV target ".") when federation is off', () => {
    const records = planServerRecords({ ...input, federation: false });
    expect(records.filter((r) => r.name.startsWith('_xmpp-server.'))).toEqual([
      { name: '_xmpp-server._tcp.alice.parley.test', type: 'SRV', ttl: DEFAULT_TTL, value: '0 0 0 .' },
      { name: '_xmpp-server._tcp.conference.alice.parley.test', type: 'SRV', ttl: DEFAULT_TTL, value: '0 0 0 .' },
    ]);
    expect(records.filter((r) => r.value.includes('15269'))).toEqual([]);
    expect(records).toHaveLength(7);
  });

  it('gives AAAA records for an IPv6 node, in canonical lowercase compressed form', () => {
    const records = planServerRecords({ ...input, nodeAddress: '2001:DB8:0:0:0:0:0:1' });
    const addresses = records.filter((r) => r.type === 'AAAA' || r.type === 'A');
    expect(addresses.map((r) => [r.type, r.value])).toEqual([
      ['AAAA', '2001:db8::1'],
      ['AAAA', '2001:db8::1'],
      ['AAAA', '2001:db8::1'],
    ]);
  });

  it('uses the given TTL everywhere', () => {
    expect(new Set(planServerRecords({ ...input, ttl: 60 }).map((r) => r.ttl))).toEqual(new Set([60]));
  });

  it('is deterministic', () => {
    expect(planServerRecords(input)).toEqual(planServerRecords({ ...input }));
  });

  it.each([
    ['an uppercase domain', { domain: 'Alice.parley.test' }, /not a lowercase DNS name/],
    ['a single-label domain', { domain: 'alice' }, /not a lowercase DNS name/],
    ['a domain with a trailing dot', { domain: 'alice.parley.test.' }, /not a lowercase DNS name/],
    ['a label with a space', { domain: 'al ice.parley.test' }, /not a lowercase DNS name/],
    ['a too long domain', { domain: `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(40)}.test` }, /at most 224/],
    ['a hostname as node address', { nodeAddress: 'node1.example' }, /not an IPv4 or IPv6 address/],
    ['port 0', { ports: { ...input.ports, c2s: 0 } }, /port c2s must be from 1 to 65535/],
    ['a fractional port', { ports: { ...input.ports, s2s: 5269.5 } }, /port s2s/],
    ['ttl 0', { ttl: 0 }, /ttl must be from 1 to 86400/],
  ])('refuses %s', (_, change: Partial<ServerDnsInput>, message) => {
    expect(() => planServerRecords({ ...input, ...change })).toThrow(message);
  });
});

describe('certificate names', () => {
  it('covers the domain and its components', () => {
    expect(certificateNames('alice.parley.test')).toEqual(['alice.parley.test', 'conference.alice.parley.test', 'upload.alice.parley.test']);
  });

  it('matches the address records the plan publishes', () => {
    const addressNames = planServerRecords(input)
      .filter((r) => r.type === 'A')
      .map((r) => r.name);
    expect(addressNames).toEqual(certificateNames(input.domain));
  });

  it('puts DNS-01 challenges under _acme-challenge', () => {
    expect(acmeChallengeName('conference.alice.parley.test')).toBe('_acme-challenge.conference.alice.parley.test');
  });
});
