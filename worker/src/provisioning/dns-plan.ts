import { isIPv4, isIPv6 } from 'node:net';
import type { DnsRecord } from '../ports/dns-provider.js';
import { COMPONENT_LABELS } from '../contracts/custom-domain.js';

// The DNS records one XMPP server needs, as pure data: the worker publishes them, the API may
// show them. Values are in the port's canonical form (lowercase, absolute SRV targets, compressed
// IPv6), so they compare equal to what the DNS providers list back.

export interface ServerDnsInput {
  /** The server's domain on the platform zone, e.g. `alice.parley.test`. */
  domain: string;
  /** The public address of the node that runs the container: v4 gives A records, v6 AAAA. */
  nodeAddress: string;
  /**
   * The ports allocated to the server. `https` (file upload, websockets) needs no DNS record:
   * clients find it through the XMPP stream (XEP-0363) or host-meta over HTTPS (XEP-0156).
   */
  ports: { c2s: number; c2sDirectTls: number; s2s: number; https: number };
  /**
   * Whether other XMPP servers may connect: `_xmpp-server` records name the s2s port, or else say
   * the service is decidedly not available (target "."), so peers fail at once instead of trying
   * the address records' port 5269 until they time out.
   */
  federation: boolean;
  ttl?: number;
}

export const DEFAULT_TTL = 300;
const SRV_PRIORITY = 0;
const SRV_WEIGHT = 5;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** The longest prefix planned below (`_xmpp-server._tcp.conference.`) must still fit in 253. */
const MAX_DOMAIN_LENGTH = 253 - '_xmpp-server._tcp.conference.'.length;

function checkDomain(domain: string): void {
  const labels = domain.split('.');
  if (domain.length > MAX_DOMAIN_LENGTH || labels.length < 2 || !labels.every((label) => LABEL.test(label))) {
    throw new Error(`"${domain}" is not a lowercase DNS name of at most ${MAX_DOMAIN_LENGTH} characters`);
  }
}

function checkPort(name: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port ${name} must be from 1 to 65535, not ${port}`);
}

/** The names a server answers for, all of which its certificate must cover. */
export function certificateNames(domain: string): string[] {
  checkDomain(domain);
  return [domain, ...COMPONENT_LABELS.map((component) => `${component}.${domain}`)];
}

/** Where the DNS-01 challenge for a name is published (RFC 8555 section 8.4). */
export function acmeChallengeName(name: string): string {
  return `_acme-challenge.${name}`;
}

/** The A or AAAA record that points `name` at a node's address, as the address is written. */
export function addressRecord(name: string, address: string): DnsRecord {
  return { name, type: isIPv6(address) ? 'AAAA' : 'A', ttl: DEFAULT_TTL, value: address };
}

/** SRV (RFC 6120, XEP-0368 for direct TLS) and address records for one server. */
export function planServerRecords(input: ServerDnsInput): DnsRecord[] {
  const { domain, nodeAddress, ports, federation } = input;
  const ttl = input.ttl ?? DEFAULT_TTL;
  checkDomain(domain);
  for (const [name, port] of Object.entries(ports)) checkPort(name, port);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400) throw new Error(`ttl must be from 1 to 86400 seconds, not ${ttl}`);

  const addressType = isIPv4(nodeAddress) ? 'A' : isIPv6(nodeAddress) ? 'AAAA' : undefined;
  if (!addressType) throw new Error(`node address "${nodeAddress}" is not an IPv4 or IPv6 address`);
  const address = addressType === 'AAAA' ? new URL(`http://[${nodeAddress}]/`).hostname.slice(1, -1) : nodeAddress;

  const srv = (service: string, name: string, port: number): DnsRecord => ({
    name: `${service}._tcp.${name}`,
    type: 'SRV',
    ttl,
    value: `${SRV_PRIORITY} ${SRV_WEIGHT} ${port} ${domain}.`,
  });
  // RFC 2782 / RFC 6120 §3.2.1: a single SRV record with target "." says "no such service here".
  const noService = (service: string, name: string): DnsRecord => ({ name: `${service}._tcp.${name}`, type: 'SRV', ttl, value: '0 0 0 .' });
  return [
    srv('_xmpp-client', domain, ports.c2s),
    srv('_xmpps-client', domain, ports.c2sDirectTls),
    ...(federation
      ? [srv('_xmpp-server', domain, ports.s2s), srv('_xmpp-server', `conference.${domain}`, ports.s2s)]
      : [noService('_xmpp-server', domain), noService('_xmpp-server', `conference.${domain}`)]),
    ...certificateNames(domain).map((name): DnsRecord => ({ name, type: addressType, ttl, value: address })),
  ];
}
