import { checkDomain } from '../../../worker/src/contracts/domain-name.js';

/** Names the platform zone keeps for itself and for the components every server has. */
const RESERVED = new Set(['www', 'api', 'app', 'admin', 'mail', 'smtp', 'ns', 'ns1', 'ns2', 'acme', 'conference', 'upload', 'parley', 'status', 'docs', 'help', 'support']);
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

export type NameCheck = { ok: true; domain: string } | { ok: false; reason: string };

/** The server's name becomes `<name>.<platform zone>`; the message says what to change. */
export function platformDomainFor(name: string, platformZone: string): NameCheck {
  if (!LABEL.test(name)) {
    return { ok: false, reason: 'Use 1-32 lowercase letters a-z, digits or hyphens, starting and ending with a letter or digit (for example "alice").' };
  }
  if (RESERVED.has(name) || /^node\d*$/.test(name)) return { ok: false, reason: `"${name}" is reserved by the platform; choose another name.` };
  const domain = checkDomain(`${name}.${platformZone}`);
  return domain.ok ? { ok: true, domain: domain.domain } : { ok: false, reason: domain.reason };
}
