/**
 * Names in the platform zone that stand in for a customer's own domain (DESIGN.md rule 5). The
 * customer points records at them once; Parley then publishes everything itself, in its own zone,
 * and never needs the customer's DNS credentials. The API shows these names, the worker writes them.
 */

/** Subdomains every server answers besides its domain; the certificate covers them too. */
export const COMPONENT_LABELS = ['conference', 'upload'] as const;

const ACME_PARENT = 'acme';
const HOST_PARENT = 'domains';
/** Labels of the platform zone that Parley's own names live under: never a server's name. */
export const PLATFORM_PARENT_LABELS = [ACME_PARENT, HOST_PARENT] as const;
const labelOf = (domainId: string) => domainId.replaceAll('-', '').toLowerCase();

/** The host name the customer's SRV records (and the upload CNAME) target. */
export function customDomainHost(domainId: string, platformZone: string): string {
  return `${labelOf(domainId)}.${HOST_PARENT}.${platformZone}`;
}

/**
 * Where Parley publishes the DNS-01 answer for `certificateName` (the domain or one of its
 * components): the target of the customer's `_acme-challenge.<certificateName>` CNAME.
 */
export function delegatedChallengeName(domain: { id: string; name: string }, certificateName: string, platformZone: string): string {
  const base = `${labelOf(domain.id)}.${ACME_PARENT}.${platformZone}`;
  if (certificateName === domain.name) return base;
  const prefix = certificateName.endsWith(`.${domain.name}`) ? certificateName.slice(0, -domain.name.length - 1) : '';
  if (!(COMPONENT_LABELS as readonly string[]).includes(prefix)) {
    throw new Error(`${certificateName} is not ${domain.name} or one of its component names (${COMPONENT_LABELS.join(', ')})`);
  }
  return `${prefix}.${base}`;
}
