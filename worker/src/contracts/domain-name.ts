import { domainToUnicode } from 'node:url';

export type DomainCheck = { ok: true; domain: string } | { ok: false; reason: string };

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const SCRIPTS = ['Latin', 'Cyrillic', 'Greek', 'Armenian', 'Cherokee'] as const;
const scriptPatterns = SCRIPTS.map((script) => new RegExp(`\\p{Script=${script}}`, 'u'));

/**
 * The one grammar every domain passes before it reaches DNS, the CA or a Prosody config: ASCII
 * letters, digits and hyphens in dot-separated labels (internationalised names as punycode).
 * Anything else (quotes, brackets, control characters, spaces, raw Unicode) is refused, so no
 * domain can inject into Lua or a zone file. Punycode labels that mix scripts are refused too:
 * that is how look-alike names (a Cyrillic "а" in "pаypal") are built.
 */
export function checkDomain(input: string): DomainCheck {
  if (typeof input !== 'string' || input.length === 0) return { ok: false, reason: 'Enter a domain name, such as chat.example.com.' };
  if (/[^\x21-\x7e]/.test(input)) {
    return {
      ok: false,
      reason: 'A domain may contain only letters a-z, digits, hyphens and dots; write international names in their xn-- (punycode) form.',
    };
  }
  const domain = input.toLowerCase().replace(/\.$/, '');
  if (domain.length > 253) return { ok: false, reason: 'A domain name can be at most 253 characters long.' };
  const labels = domain.split('.');
  if (labels.length < 2) return { ok: false, reason: 'Use a full domain name with at least one dot, such as chat.example.com.' };
  for (const label of labels) {
    if (!LABEL.test(label)) {
      return {
        ok: false,
        reason: `"${label.replace(/[^a-z0-9.-]/g, '?')}" is not a valid part of a domain name: use 1-63 letters a-z, digits or hyphens, not starting or ending with a hyphen.`,
      };
    }
    if (label.startsWith('xn--') && mixesScripts(label)) {
      return { ok: false, reason: `"${label}" mixes alphabets, which is how look-alike domains are made; use a single alphabet per label.` };
    }
  }
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) return { ok: false, reason: 'The last part of a domain name cannot be all digits.' };
  return { ok: true, domain };
}

/** Like checkDomain, for code paths that must never see an invalid domain. */
export function assertDomain(input: string): string {
  const result = checkDomain(input);
  if (!result.ok) throw new InvalidDomainError(result.reason);
  return result.domain;
}

export class InvalidDomainError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'InvalidDomainError';
  }
}

function mixesScripts(label: string): boolean {
  const unicode = domainToUnicode(label);
  if (!unicode || unicode === label) return true; // undecodable punycode
  return scriptPatterns.filter((pattern) => pattern.test(unicode)).length > 1;
}
