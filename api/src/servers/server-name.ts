import { checkDomain } from '../../../worker/src/contracts/domain-name.js';
import { COMPONENT_LABELS, PLATFORM_PARENT_LABELS } from '../../../worker/src/contracts/custom-domain.js';

/**
 * Names a server cannot take: the platform's own labels, its service names, and names that mail,
 * autoconfiguration and browsers look up by convention (a server there would answer for them).
 */
const RESERVED = new Set<string>([
  ...PLATFORM_PARENT_LABELS,
  ...COMPONENT_LABELS,
  'www', 'api', 'app', 'admin', 'parley', 'status', 'docs', 'help', 'support', 'dashboard', 'metrics', 'operator',
  'dns', 'turns', 'xmpp', 'jabber', 'proxy',
  'mail', 'smtp', 'imap', 'pop', 'pop3', 'mx', 'webmail', 'mta-sts', 'autoconfig', 'autodiscover',
  'postmaster', 'hostmaster', 'webmaster', 'abuse', 'security', 'noc', 'root',
  'localhost', 'wpad', 'isatap', 'ftp',
]);
/** Families of names the platform gives its own hosts (name servers, nodes, TURN relays). */
const RESERVED_PATTERN = /^(ns|node|turn|stun|relay)-?\d*$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

export type NameCheck = { ok: true; domain: string } | { ok: false; reason: string };

/** The server's name becomes `<name>.<platform zone>`; the message says what to change. */
export function platformDomainFor(name: string, platformZone: string): NameCheck {
  if (!LABEL.test(name)) {
    return { ok: false, reason: 'Use 1-32 lowercase letters a-z, digits or hyphens, starting and ending with a letter or digit (for example "alice").' };
  }
  if (RESERVED.has(name) || RESERVED_PATTERN.test(name)) return { ok: false, reason: `"${name}" is reserved by the platform; choose another name.` };
  const domain = checkDomain(`${name}.${platformZone}`);
  return domain.ok ? { ok: true, domain: domain.domain } : { ok: false, reason: domain.reason };
}
