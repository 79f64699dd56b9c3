import { COMPONENT_LABELS } from './custom-domain.js';

/** The SRV services XMPP clients and servers look up (RFC 6120, XEP-0368 for direct TLS). */
const SRV_SERVICES = ['_xmpp-client', '_xmpps-client', '_xmpp-server', '_xmpps-server'] as const;

/**
 * The names a server on the platform zone answers for (`hosts`) and the SRV names XMPP looks up
 * under them (`services`): records there that Parley did not create would compete with the server's.
 */
export function serverDnsNames(domain: string): { hosts: string[]; services: string[] } {
  const hosts = [domain, ...COMPONENT_LABELS.map((component) => `${component}.${domain}`)];
  return { hosts, services: hosts.flatMap((host) => SRV_SERVICES.map((service) => `${service}._tcp.${host}`)) };
}

/** Records at a server's names that Parley did not create, as both the API and the worker word them. */
export function describeForeignRecords(records: readonly { name: string; type: string; value: string }[]): string {
  return records.slice(0, 3).map((r) => `${r.type} ${r.value} at ${r.name}`).join('; ');
}
