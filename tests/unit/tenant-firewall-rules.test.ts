import { describe, expect, it } from 'vitest';
import { resolversOf, tenantFirewallHooks, tenantFirewallRules, tenantFirewallScript } from '../../worker/src/isolation/tenant-firewall-rules.js';
import { expectEvery } from '../support/expect-every.js';

const plan = { bridge: 'parley-tenants', publishedPorts: { first: 20000, last: 29999 }, containerDns: ['10.213.0.1'] };

describe('the tenant firewall rules', () => {
  const rules = tenantFirewallRules(plan, ['10.0.0.2']).split('\n');
  const forward = rules.filter((r) => r.startsWith('-A PARLEY-TENANT-OUT'));

  it('replaces only its own two chains', () => {
    expect(rules[0]).toBe('*filter');
    expect(rules.filter((r) => r.startsWith(':'))).toEqual([':PARLEY-TENANT-IN - [0:0]', ':PARLEY-TENANT-OUT - [0:0]']);
    expectEvery(rules.filter((r) => r.startsWith('-A')), (r) => r.startsWith('-A PARLEY-TENANT-'));
    expect(tenantFirewallHooks(plan)).toEqual([
      ['INPUT', ['-i', 'parley-tenants', '-j', 'PARLEY-TENANT-IN']],
      ['DOCKER-USER', ['-i', 'parley-tenants', '-j', 'PARLEY-TENANT-OUT']],
    ]);
  });

  it('lets the host\'s published ports and the containers\' name servers in, and drops the rest of what is addressed to the host', () => {
    expect(rules.filter((r) => r.startsWith('-A PARLEY-TENANT-IN'))).toEqual([
      '-A PARLEY-TENANT-IN -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN',
      '-A PARLEY-TENANT-IN -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 20000:29999 -j RETURN',
      '-A PARLEY-TENANT-IN -d 10.213.0.1/32 -p udp -m udp --dport 53 -j RETURN',
      '-A PARLEY-TENANT-IN -d 10.213.0.1/32 -p tcp -m tcp --dport 53 -j RETURN',
      '-A PARLEY-TENANT-IN -j DROP',
    ]);
  });

  it('allows DNS to the host\'s resolvers before it drops private ranges, metadata included', () => {
    const dns = forward.findIndex((r) => r.includes('-d 10.0.0.2/32 -p udp'));
    const privateDrop = forward.indexOf('-A PARLEY-TENANT-OUT -d 10.0.0.0/8 -j DROP');
    expect(dns).toBeGreaterThan(-1);
    expect(forward.findIndex((r) => r.includes('-d 10.213.0.1/32 -p tcp'))).toBeGreaterThan(-1);
    expect(privateDrop).toBeGreaterThan(dns);
    expect(forward).toContain('-A PARLEY-TENANT-OUT -d 169.254.0.0/16 -j DROP');
    expect(forward.at(-1)).toBe('-A PARLEY-TENANT-OUT -d 240.0.0.0/4 -j DROP');
  });

  it('lets a Swarm node\'s containers reach the other nodes\' published ports before it drops private ranges', () => {
    const swarm = { ...plan, bridge: 'docker0', peers: [{ address: '10.214.1.13', first: 23700, last: 24099 }] };
    const out = tenantFirewallRules(swarm, []).split('\n').filter((r) => r.startsWith('-A PARLEY-TENANT-OUT'));
    const peer = out.indexOf('-A PARLEY-TENANT-OUT -d 10.214.1.13/32 -p tcp -m tcp --dport 23700:24099 -j RETURN');
    expect(peer).toBeGreaterThan(-1);
    expect(out.indexOf('-A PARLEY-TENANT-OUT -d 10.0.0.0/8 -j DROP')).toBeGreaterThan(peer);
  });

  it('renders one shell script: the chains at once, then each hook unless present; nothing unchecked goes in', () => {
    const script = tenantFirewallScript(plan, ['10.0.0.2']).split('\n');
    expect(script.slice(0, 2)).toEqual(['set -e', "iptables-restore --noflush --wait 10 <<'PARLEY_RULES'"]);
    expect(script.slice(-4)).toEqual([
      'PARLEY_RULES',
      'iptables --wait 10 -C INPUT -i parley-tenants -j PARLEY-TENANT-IN 2>/dev/null || iptables --wait 10 -I INPUT 1 -i parley-tenants -j PARLEY-TENANT-IN',
      'iptables --wait 10 -C DOCKER-USER -i parley-tenants -j PARLEY-TENANT-OUT 2>/dev/null || iptables --wait 10 -I DOCKER-USER 1 -i parley-tenants -j PARLEY-TENANT-OUT',
      '',
    ]);
    expect(script.join('\n')).toContain(tenantFirewallRules(plan, ['10.0.0.2']).trimEnd());
    expect(() => tenantFirewallScript({ ...plan, bridge: 'x; reboot' }, [])).toThrow(/invalid bridge/);
    expect(() => tenantFirewallScript({ ...plan, containerDns: ['1.2.3.4$(id)'] }, [])).toThrow(/not an IPv4 address/);
    expect(() => tenantFirewallScript({ ...plan, peers: [{ address: '10.0.0.1', first: 0, last: 5 }] }, [])).toThrow(/invalid port range/);
  });

  it('reads IPv4 resolvers from resolv.conf, without loopback ones or repeats', () => {
    expect(resolversOf('# comment\nnameserver 10.255.255.53\nnameserver 127.0.0.53\nnameserver ::1\nnameserver 10.255.255.53\nsearch example\n')).toEqual(['10.255.255.53']);
  });
});
