import { checkDomain, type DomainCheck } from '../../../worker/src/contracts/domain-name.js';
import { COMPONENT_LABELS, customDomainHost, delegatedChallengeName } from '../../../worker/src/contracts/custom-domain.js';

// The DNS records a customer creates on their own domain, and how a lookup of each is judged, as
// pure data (DESIGN.md rule 5): SRV records point at a host name Parley controls, and
// `_acme-challenge` names are CNAMEs into the platform zone, so certificates are issued with
// DNS-01 answers Parley publishes in its own zone and the customer's DNS credentials are never needed.

export const RECORD_TYPES = ['TXT', 'CNAME', 'SRV'] as const;
export const RECORD_PURPOSES = ['ownership', 'acme_challenge', 'srv_client', 'srv_client_tls', 'srv_server', 'upload'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];
export type RecordPurpose = (typeof RECORD_PURPOSES)[number];

/** How a looked-up answer is compared; names are lower case without the trailing dot. */
type Expectation = { kind: 'txt'; value: string } | { kind: 'cname'; target: string } | { kind: 'srv'; target: string; port: number | null };

export interface PlannedRecord {
  /** FQDN, lower case, without the trailing dot. */
  name: string;
  type: RecordType;
  /** The record's data as the customer enters it; null for an SRV record whose port is not allocated yet. */
  value: string | null;
  /** What a check looks for, as text: the value, or the SRV record with `<port>` until one is allocated. */
  expected: string;
  purpose: RecordPurpose;
  /** Required records decide verification; the others are checked and reported only. */
  required: boolean;
  description: string;
  expect: Expectation;
}

/** One record's last check, as stored in Domain.checks and shown to the customer. */
export interface RecordCheck {
  name: string;
  type: RecordType;
  required: boolean;
  expected: string;
  found: string[];
  ok: boolean;
  /** What was found and what to do about it. */
  message: string;
}

/** What the configured resolver said about one name and type. */
export type Lookup = { kind: 'found'; values: string[] } | { kind: 'none' } | { kind: 'failed'; code: string };

export interface DomainRecordInput {
  id: string;
  /** The customer's domain, as checkCustomDomain returned it. */
  name: string;
  verificationToken: string;
  platformZone: string;
  /** The live server on the domain, once one is ordered: its ports complete the SRV records. */
  server?: { federation: boolean; ports: { c2s?: number | undefined; c2sDirectTls?: number | undefined; s2s?: number | undefined } } | null;
}

const VERIFY_PREFIX = '_parley-verify';
const VERIFY_VALUE_PREFIX = 'parley-verification=';
// Priority and weight as the worker's dns-plan.ts publishes them for platform servers.
const SRV_PRIORITY = 0;
const SRV_WEIGHT = 5;
/** The longest name planned below must still fit in 253 characters. */
const MAX_CUSTOM_DOMAIN_LENGTH = 253 - '_xmpp-server._tcp.conference.'.length;

/** A domain a customer may add: the strict grammar, not the platform's own zone, and short enough for every record. */
export function checkCustomDomain(input: string, platformZone: string): DomainCheck {
  const checked = checkDomain(input);
  if (!checked.ok) return checked;
  const { domain } = checked;
  if (domain === platformZone || domain.endsWith(`.${platformZone}`)) {
    return {
      ok: false,
      reason: `${domain} is inside ${platformZone}, which Parley runs itself: order a server with that name instead (POST /api/v1/servers), or add a domain you own.`,
    };
  }
  if (domain.length > MAX_CUSTOM_DOMAIN_LENGTH) {
    return { ok: false, reason: `A custom domain can be at most ${MAX_CUSTOM_DOMAIN_LENGTH} characters long, so that every record Parley needs under it still fits.` };
  }
  return checked;
}

export function planDomainRecords(input: DomainRecordInput): PlannedRecord[] {
  const { name: domain, platformZone } = input;
  const host = customDomainHost(input.id, platformZone);
  const ports = input.server?.ports;
  const txtValue = `${VERIFY_VALUE_PREFIX}${input.verificationToken}`;

  const challenge = (certificateName: string): PlannedRecord => {
    const target = delegatedChallengeName({ id: input.id, name: domain }, certificateName, platformZone);
    return {
      name: `_acme-challenge.${certificateName}`,
      type: 'CNAME',
      value: `${target}.`,
      expected: `${target}.`,
      purpose: 'acme_challenge',
      required: true,
      description: `Lets Parley obtain the TLS certificate for ${certificateName} by answering the certificate authority's DNS challenge in its own zone: no access to your DNS is needed. Required.`,
      expect: { kind: 'cname', target },
    };
  };

  const srv = (service: string, owner: string, purpose: RecordPurpose, port: number | undefined, what: string): PlannedRecord => {
    const value = port === undefined ? null : `${SRV_PRIORITY} ${SRV_WEIGHT} ${port} ${host}.`;
    const portNote = value === null ? ' The port is assigned when you order a server on this domain; the value appears here then.' : '';
    return {
      name: `${service}._tcp.${owner}`,
      type: 'SRV',
      value,
      expected: value ?? `${SRV_PRIORITY} ${SRV_WEIGHT} <port> ${host}.`,
      purpose,
      required: false,
      description: `${what}${portNote} Informational: it does not affect verification.`,
      expect: { kind: 'srv', target: host, port: port ?? null },
    };
  };

  return [
    {
      name: `${VERIFY_PREFIX}.${domain}`,
      type: 'TXT',
      value: txtValue,
      expected: txtValue,
      purpose: 'ownership',
      required: true,
      description: `Proves you control ${domain}. Required.`,
      expect: { kind: 'txt', value: txtValue },
    },
    challenge(domain),
    ...COMPONENT_LABELS.map((component) => challenge(`${component}.${domain}`)),
    srv('_xmpp-client', domain, 'srv_client', ports?.c2s, 'Tells XMPP clients where your server is (STARTTLS).'),
    srv('_xmpps-client', domain, 'srv_client_tls', ports?.c2sDirectTls, 'Tells XMPP clients where your server is (direct TLS, XEP-0368).'),
    srv('_xmpp-server', domain, 'srv_server', ports?.s2s, 'Lets other XMPP servers reach yours; only needed with federation.'),
    srv('_xmpp-server', `conference.${domain}`, 'srv_server', ports?.s2s, 'Lets other XMPP servers reach your group chats; only needed with federation.'),
    {
      name: `upload.${domain}`,
      type: 'CNAME',
      value: `${host}.`,
      expected: `${host}.`,
      purpose: 'upload',
      required: false,
      description: 'Lets clients upload and download shared files (XEP-0363). Informational: it does not affect verification.',
      expect: { kind: 'cname', target: host },
    },
  ];
}

const code = (value: string) => `\`${value}\``;
const list = (values: string[]) => values.map(code).join(', ');

/** Judges one lookup against the record it should find; the message says what to fix. */
export function checkRecord(record: PlannedRecord, lookup: Lookup): RecordCheck {
  const { expected } = record;
  const result = (ok: boolean, found: string[], message: string): RecordCheck => ({ name: record.name, type: record.type, required: record.required, expected, found, ok, message });
  const create =
    record.value === null
      ? 'create it when you order a server on this domain (the port is assigned then).'
      : `create a ${record.type} record at ${code(record.name)} with the value ${code(record.value)}. Just created it? DNS caches can take a few minutes to see it.`;

  if (lookup.kind === 'failed') {
    return result(false, [], `The lookup failed (${lookup.code.replace(/^E/, '')}): make sure the DNS servers of this domain answer for ${code(record.name)}, then verify again.`);
  }
  if (lookup.kind === 'none' || lookup.values.length === 0) {
    return result(false, [], `Not found: ${create}`);
  }
  const found = lookup.values;
  const { expect } = record;
  switch (expect.kind) {
    case 'txt': {
      if (found.includes(expect.value)) return result(true, found, `Found ${code(expect.value)}: correct.`);
      const fix = found.some((value) => value.startsWith(VERIFY_VALUE_PREFIX)) ? 'replace the TXT value' : `add a TXT value ${code(expect.value)} (other values may stay)`;
      return result(false, found, `Found ${list(found)}, expected ${code(expect.value)}: ${fix}.`);
    }
    case 'cname': {
      if (found.some((value) => bare(value) === expect.target)) return result(true, found, `Found ${code(`${expect.target}.`)}: correct.`);
      return result(false, found, `Found ${list(found)}, expected ${code(`${expect.target}.`)}: change the CNAME's target.`);
    }
    case 'srv': {
      const matching = found.filter((value) => {
        const [, , port, target] = value.split(' ');
        return bare(target ?? '') === expect.target && (expect.port === null || Number(port) === expect.port);
      });
      if (matching.length > 0) {
        const note = expect.port === null ? ' the port is checked once a server uses this domain.' : ' correct.';
        return result(true, found, `Found ${list(matching)}:${note}`);
      }
      return result(false, found, `Found ${list(found)}, expected ${code(expected)}: change the record's ${expect.port === null ? 'target' : 'port and target'}.`);
    }
  }
}

function bare(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export type VerificationStatus = 'pending' | 'verified' | 'failed';

/**
 * Verified when every required record checks out. A verified domain whose records later break
 * becomes `failed` (no new server can be ordered on it and its certificates cannot be renewed);
 * one never verified stays `pending`.
 */
export function statusAfterCheck(records: PlannedRecord[], checks: RecordCheck[], previous: VerificationStatus): VerificationStatus {
  if (missingRequired(records, checks).length === 0) return 'verified';
  return previous === 'pending' ? 'pending' : 'failed';
}

/** Required records whose last check (matched on name, type and expected value) is not ok or absent. */
export function missingRequired(records: PlannedRecord[], checks: RecordCheck[]): PlannedRecord[] {
  return records.filter((record) => record.required && !checkOf(record, checks)?.ok);
}

/** The stored check of a record, unless the record has changed since (a port allocated, for instance). */
export function checkOf(record: PlannedRecord, checks: RecordCheck[]): RecordCheck | null {
  return checks.find((check) => check.name === record.name && check.type === record.type && check.expected === record.expected) ?? null;
}
