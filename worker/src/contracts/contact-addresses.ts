import { checkDomain } from './domain-name.js';
import { isValidUsername } from './xmpp-names.js';

// XEP-0157 contact addresses a customer sets for their server (who to write to about abuse,
// support, security), shared by the API (which refuses a bad one with a 400) and the worker
// (which renders them into Prosody's contact_info). The admin address is always the server's
// admin account and is not set here.

export const CONTACT_KINDS = ['abuse', 'support', 'security'] as const;
export type ContactKind = (typeof CONTACT_KINDS)[number];
export type ContactAddresses = Partial<Record<ContactKind, string[]>>;

export const MAX_ADDRESSES_PER_KIND = 3;
const MAX_URI_LENGTH = 200;
const EMAIL_LOCAL = /^[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?$/i;
const URL_PATH = /^[A-Za-z0-9/._~%-]*$/;

export const CONTACT_ADDRESS_RULE =
  'A contact address is xmpp:user@domain, mailto:name@domain or an https:// web address (at most 200 characters, no spaces, quotes or query strings).';

/** Why the URI is not a contact address Parley accepts, or undefined when it is one. */
export function contactAddressProblem(uri: unknown): string | undefined {
  if (typeof uri !== 'string' || uri.length === 0 || uri.length > MAX_URI_LENGTH) return CONTACT_ADDRESS_RULE;
  const [scheme, rest = ''] = splitScheme(uri);
  if (scheme === 'xmpp' || scheme === 'mailto') {
    const at = rest.indexOf('@');
    const local = rest.slice(0, at);
    const domain = rest.slice(at + 1);
    const localOk = scheme === 'xmpp' ? isValidUsername(local) : EMAIL_LOCAL.test(local) && !local.includes('..');
    return at > 0 && localOk && checkDomain(domain).ok && domain === domain.toLowerCase() ? undefined : CONTACT_ADDRESS_RULE;
  }
  if (scheme === 'https') {
    const match = /^\/\/([^/]+)(\/.*)?$/.exec(rest);
    const host = match?.[1] ?? '';
    return match && checkDomain(host).ok && host === host.toLowerCase() && URL_PATH.test(match[2] ?? '') ? undefined : CONTACT_ADDRESS_RULE;
  }
  return CONTACT_ADDRESS_RULE;
}

/** Each problem of a whole set of addresses, keyed like `abuse[0]`; empty when all are fine. */
export function contactAddressesProblems(input: ContactAddresses): Record<string, string> {
  const problems: Record<string, string> = {};
  for (const kind of CONTACT_KINDS) {
    const list = input[kind] ?? [];
    if (list.length > MAX_ADDRESSES_PER_KIND) problems[kind] = `At most ${MAX_ADDRESSES_PER_KIND} ${kind} addresses.`;
    list.forEach((uri, i) => {
      const problem = contactAddressProblem(uri);
      if (problem) problems[`${kind}[${i}]`] = problem;
    });
  }
  return problems;
}

/** The stored JSON column as addresses: only the known kinds, only lists of strings. */
export function contactAddressesOf(stored: unknown): ContactAddresses {
  const record = typeof stored === 'object' && stored !== null ? (stored as Record<string, unknown>) : {};
  const out: ContactAddresses = {};
  for (const kind of CONTACT_KINDS) {
    const list = record[kind];
    if (Array.isArray(list)) out[kind] = list.filter((uri): uri is string => typeof uri === 'string');
  }
  return out;
}

function splitScheme(uri: string): [string, string?] {
  const colon = uri.indexOf(':');
  return colon < 0 ? [''] : [uri.slice(0, colon), uri.slice(colon + 1)];
}
