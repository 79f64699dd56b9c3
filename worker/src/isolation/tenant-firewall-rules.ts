import { isIPv4 } from 'node:net';
import type { TenantFirewallPlan } from '../ports/tenant-firewall.js';

/** Seconds to wait for the xtables lock that Docker also takes. */
const LOCK_WAIT_SECONDS = 10;
const INTERFACE = /^[a-z][a-z0-9-]{0,14}$/;

/** Chains Parley owns and rewrites whole; nothing else in the host's firewall is touched. */
export const TENANT_INPUT_CHAIN = 'PARLEY-TENANT-IN';
export const TENANT_FORWARD_CHAIN = 'PARLEY-TENANT-OUT';

/**
 * IPv4 ranges that are not the public internet (IANA's special-purpose registry): the platform's
 * private networks, other machines of the provider, link-local cloud metadata (169.254.169.254).
 */
export const NON_PUBLIC_IPV4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
] as const;

/**
 * The filter table's Parley chains in iptables-restore form (applied with --noflush, so only these
 * two chains are replaced). Hooked in from INPUT (traffic to the host itself) and DOCKER-USER
 * (traffic through it, which Docker evaluates before its own rules) for the tenant bridge only.
 * `resolvers`: the host's DNS servers, which Docker's embedded DNS forwards containers' queries to.
 */
export function tenantFirewallRules(plan: TenantFirewallPlan, resolvers: readonly string[]): string {
  const { first, last } = plan.publishedPorts;
  const dnsTo = (chain: string, address: string) => ['udp', 'tcp'].map((proto) => `-A ${chain} -d ${address}/32 -p ${proto} -m ${proto} --dport 53 -j RETURN`);
  const lines = [
    '*filter',
    `:${TENANT_INPUT_CHAIN} - [0:0]`,
    `:${TENANT_FORWARD_CHAIN} - [0:0]`,
    // To the host: replies to the host's own connections (health checks), and published ports
    // (another server on this node, reached through its public address like anyone does).
    `-A ${TENANT_INPUT_CHAIN} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
    `-A ${TENANT_INPUT_CHAIN} -p tcp -m addrtype --dst-type LOCAL -m tcp --dport ${first}:${last} -j RETURN`,
    // Name servers the containers are given, when the host serves them (the sandbox's PowerDNS).
    ...plan.containerDns.flatMap((address) => dnsTo(TENANT_INPUT_CHAIN, address)),
    `-A ${TENANT_INPUT_CHAIN} -j DROP`,
    `-A ${TENANT_FORWARD_CHAIN} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
    // A published port reached through the node's address: allowed before the bridge's own
    // container-to-container drop, which would otherwise stop federation between neighbours.
    `-A ${TENANT_FORWARD_CHAIN} -m conntrack --ctstate DNAT -j ACCEPT`,
    ...[...new Set([...resolvers, ...plan.containerDns])].flatMap((address) => dnsTo(TENANT_FORWARD_CHAIN, address)),
    ...(plan.peers ?? []).map((peer) => `-A ${TENANT_FORWARD_CHAIN} -d ${peer.address}/32 -p tcp -m tcp --dport ${peer.first}:${peer.last} -j RETURN`),
    ...NON_PUBLIC_IPV4.map((range) => `-A ${TENANT_FORWARD_CHAIN} -d ${range} -j DROP`),
    'COMMIT',
    '',
  ];
  return lines.join('\n');
}

/**
 * The whole firewall as one POSIX shell script, for a machine reached only through a container on
 * it: the chains replaced at once, then each hook added unless present. Every value in it is
 * checked (an interface name, IPv4 addresses, port numbers), so nothing can be injected.
 */
export function tenantFirewallScript(plan: TenantFirewallPlan, resolvers: readonly string[]): string {
  if (!INTERFACE.test(plan.bridge)) throw new Error(`invalid bridge name "${plan.bridge.slice(0, 40)}"`);
  const addresses = [...resolvers, ...plan.containerDns, ...(plan.peers ?? []).map((p) => p.address)];
  const bad = addresses.find((address) => !isIPv4(address));
  if (bad !== undefined) throw new Error(`not an IPv4 address: "${bad.slice(0, 60)}"`);
  const ports = [plan.publishedPorts, ...(plan.peers ?? [])].flatMap((r) => [r.first, r.last]);
  if (ports.some((port) => !Number.isInteger(port) || port < 1 || port > 65535)) throw new Error(`invalid port range in ${JSON.stringify(ports)}`);
  const iptables = `iptables --wait ${LOCK_WAIT_SECONDS}`;
  return [
    'set -e',
    `iptables-restore --noflush --wait ${LOCK_WAIT_SECONDS} <<'PARLEY_RULES'`,
    tenantFirewallRules(plan, resolvers).trimEnd(),
    'PARLEY_RULES',
    ...tenantFirewallHooks(plan).map(([chain, rule]) => `${iptables} -C ${chain} ${rule.join(' ')} 2>/dev/null || ${iptables} -I ${chain} 1 ${rule.join(' ')}`),
    '',
  ].join('\n');
}

/** The jumps into Parley's chains: [chain, rule] pairs, each present once. */
export function tenantFirewallHooks(plan: TenantFirewallPlan): [string, string[]][] {
  return [
    ['INPUT', ['-i', plan.bridge, '-j', TENANT_INPUT_CHAIN]],
    ['DOCKER-USER', ['-i', plan.bridge, '-j', TENANT_FORWARD_CHAIN]],
  ];
}

/** The IPv4 name servers of a resolv.conf; loopback ones are left out (Docker does not use them). */
export function resolversOf(resolvConf: string): string[] {
  const found = resolvConf
    .split('\n')
    .map((line) => /^\s*nameserver\s+(\d{1,3}(?:\.\d{1,3}){3})\s*$/.exec(line)?.[1])
    .filter((address): address is string => address !== undefined && !address.startsWith('127.'));
  return [...new Set(found)];
}
