import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AcmeCertificateAuthority,
  AcmeError,
  acmeRetryAfterMs,
  isPermanentAcmeError,
} from '../../worker/src/adapters/acme.certificate-authority.js';
import { PowerDnsProvider } from '../../worker/src/adapters/powerdns.dns-provider.js';
import type { DnsChallengeSolver, IssuedCertificate } from '../../worker/src/ports/certificate-authority.js';
import type { DnsRecord } from '../../worker/src/ports/dns-provider.js';
import { waitForRecords } from '../../worker/src/provisioning/dns-propagation.js';
import { pebbleCertificateStatus, pebbleIssuers, type PebbleIssuers } from '../support/pebble.js';
import { testEnv } from '../support/test-env.js';

// Real issuance: Pebble validates DNS-01 by asking the sandbox PowerDNS, where the solver below
// publishes the challenge values through the real PowerDNS adapter.

interface SolverCall {
  name: string;
  value: string;
}

/** A solver over PowerDNS that records its calls; present() publishes nothing for `silent` names. */
function recordingSolver(dns: PowerDnsProvider, zone: string, resolver: string, silent: string[] = []) {
  const presented: SolverCall[] = [];
  const cleaned: SolverCall[] = [];
  const txt = (name: string, value: string): DnsRecord => ({ name: `_acme-challenge.${name}`, type: 'TXT', ttl: 60, value });
  const solver: DnsChallengeSolver = {
    async present(name, value) {
      presented.push({ name, value });
      if (silent.includes(name)) return;
      await dns.addRecords(zone, [txt(name, value)]);
      await waitForRecords(resolver, [txt(name, value)], { timeoutMs: 5_000, intervalMs: 50 });
    },
    async cleanup(name, value) {
      cleaned.push({ name, value });
      await dns.removeRecords(zone, [txt(name, value)]);
    },
  };
  return { solver, presented, cleaned };
}

const callKey = (call: SolverCall) => `${call.name} ${call.value}`;

/** The names of every new ACME order the adapter announced, in order. */
const ordered: string[][] = [];
const countOrder = (orderNames: string[]) => {
  ordered.push(orderNames);
  return Promise.resolve();
};

function sans(certificate: X509Certificate): string[] {
  return (certificate.subjectAltName ?? '').split(', ').map((entry) => entry.replace(/^DNS:/, ''));
}

describe('AcmeCertificateAuthority against Pebble and PowerDNS', () => {
  let ca: AcmeCertificateAuthority;
  let dns: PowerDnsProvider;
  let zone: string;
  let resolver: string;
  let contactEmail: string;
  let issuers: PebbleIssuers;
  let accountKeyPem: string;
  let names: string[];
  let issued: IssuedCertificate;
  let firstSolver: ReturnType<typeof recordingSolver>;

  const freshNames = () => {
    const base = `t${randomBytes(5).toString('hex')}.${zone}`;
    return [base, `conference.${base}`, `upload.${base}`];
  };

  async function challengeValuesLeft(forNames: string[]): Promise<DnsRecord[]> {
    const lists = await Promise.all(forNames.map((name) => dns.listRecords(zone, `_acme-challenge.${name}`)));
    return lists.flat().filter((record) => record.type === 'TXT');
  }

  beforeAll(async () => {
    const env = testEnv();
    zone = env.PLATFORM_ZONE;
    resolver = env.DNS_RESOLVER;
    contactEmail = env.ACME_CONTACT_EMAIL;
    ca = new AcmeCertificateAuthority({
      directoryUrl: env.ACME_DIRECTORY_URL,
      caBundle: readFileSync(env.ACME_CA_BUNDLE_FILE),
      pollIntervalMs: 200,
    });
    dns = new PowerDnsProvider({ apiUrl: env.PDNS_API_URL, apiKey: env.PDNS_API_KEY, serverId: 'localhost', zone });
    issuers = await pebbleIssuers();
    accountKeyPem = await ca.createAccountKey();
    names = freshNames();
    firstSolver = recordingSolver(dns, zone, resolver);
    issued = await ca.issue({ names, accountKeyPem, contactEmail, solver: firstSolver.solver, beforeOrder: countOrder });
  });

  it('creates an ECDSA P-256 account key', () => {
    const key = createPrivateKey(accountKeyPem);
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('issues one certificate whose chain verifies up to Pebble’s current root', () => {
    const chain = issued.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((pem) => new X509Certificate(pem));
    expect(chain?.length).toBeGreaterThanOrEqual(2);
    const [leaf, ...intermediates] = chain ?? [];
    let child = leaf!;
    for (const parent of intermediates) {
      expect(child.checkIssued(parent)).toBe(true);
      expect(child.verify(parent.publicKey)).toBe(true);
      child = parent;
    }
    expect(child.fingerprint256).toBe(issuers.intermediate.fingerprint256);
    expect(child.checkIssued(issuers.root)).toBe(true);
    expect(child.verify(issuers.root.publicKey)).toBe(true);
  });

  it('covers exactly the names, with the first as common name, for the returned key', () => {
    const leaf = new X509Certificate(issued.chainPem);
    expect(sans(leaf).sort()).toEqual([...names].sort());
    expect(leaf.subject).toContain(`CN=${names[0]}`);
    expect(issued.names).toEqual(names);
    const key = createPrivateKey(issued.privateKeyPem);
    expect(leaf.checkPrivateKey(key)).toBe(true);
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(issued.serial).toBe(leaf.serialNumber);
    expect(issued.notBefore.getTime()).toBe(new Date(leaf.validFrom).getTime());
    expect(issued.notAfter.getTime()).toBe(new Date(leaf.validTo).getTime());
    expect(issued.notAfter.getTime()).toBeGreaterThan(Date.now());
  });

  it('removed every challenge value it published', async () => {
    expect(firstSolver.presented.map((call) => call.name).sort()).toEqual([...names].sort());
    expect(firstSolver.cleaned.map(callKey).sort()).toEqual(firstSolver.presented.map(callKey).sort());
    expect(await challengeValuesLeft(names)).toEqual([]);
  });

  it('issues again with the same account key (the account is found, not duplicated)', async () => {
    const again = recordingSolver(dns, zone, resolver);
    const second = await ca.issue({ names, accountKeyPem, contactEmail, solver: again.solver, beforeOrder: countOrder });
    expect(second.serial).not.toBe(issued.serial);
    expect(second.privateKeyPem).not.toBe(issued.privateKeyPem);
    expect(sans(new X509Certificate(second.chainPem)).sort()).toEqual([...names].sort());
    // Pebble reuses some valid authorizations: only the others are presented, and all are cleaned.
    expect(again.cleaned.map(callKey).sort()).toEqual(again.presented.map(callKey).sort());
    expect(await challengeValuesLeft(names)).toEqual([]);
    await ca.revoke(second.chainPem, accountKeyPem);
    expect(await pebbleCertificateStatus(second.serial)).toBe('Revoked');
    expect(await pebbleCertificateStatus(issued.serial)).toBe('Valid');
  });

  it('revokes at the CA, and revoking again is success', async () => {
    expect(await pebbleCertificateStatus(issued.serial)).toBe('Valid');
    await ca.revoke(issued.chainPem, accountKeyPem);
    expect(await pebbleCertificateStatus(issued.serial)).toBe('Revoked');
    await ca.revoke(issued.chainPem, accountKeyPem);
    expect(await pebbleCertificateStatus(issued.serial)).toBe('Revoked');
  });

  it('fails naming the name the CA could not validate, as permanent, and still cleans up the others', async () => {
    const refusedNames = freshNames();
    const silentName = refusedNames[2]!;
    const refusing = recordingSolver(dns, zone, resolver, [silentName]);
    const error: unknown = await ca
      .issue({ names: refusedNames, accountKeyPem, contactEmail, solver: refusing.solver, beforeOrder: countOrder })
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeError);
    const message = (error as Error).message;
    expect(message).toContain(silentName);
    expect(message).toContain('[unauthorized]');
    expect((error as AcmeError).problems.map((p) => p.name)).toEqual([silentName]);
    expect(isPermanentAcmeError(error)).toBe(true);
    // Validation is tried with a second order before giving up; each order is announced first.
    expect(ordered.filter((o) => o.join() === refusedNames.join())).toHaveLength(2);
    // The good names were published and withdrawn, the silent one was presented and cleaned too.
    for (const name of refusedNames) expect(refusing.presented.map((call) => call.name)).toContain(name);
    expect(refusing.cleaned.map(callKey).sort()).toEqual(refusing.presented.map(callKey).sort());
    expect(await challengeValuesLeft(refusedNames)).toEqual([]);
  });

  it('reports a name the CA refuses to order as a permanent error, before publishing anything', async () => {
    const solver = recordingSolver(dns, zone, resolver);
    const error: unknown = await ca
      .issue({ names: [`bad_name.${zone}`], accountKeyPem, contactEmail, solver: solver.solver, beforeOrder: countOrder })
      .then(() => undefined, (e: unknown) => e);
    expect((error as Error).message).toMatch(/bad_name.*\[malformed\]/);
    expect(isPermanentAcmeError(error)).toBe(true);
    expect(solver.presented).toEqual([]);
  });

  it('creates no order when the order is refused before it is made (the budget is spent)', async () => {
    const solver = recordingSolver(dns, zone, resolver);
    const spent = new Error('no budget left');
    const error: unknown = await ca
      .issue({ names: freshNames(), accountKeyPem, contactEmail, solver: solver.solver, beforeOrder: () => Promise.reject(spent) })
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBe(spent);
    expect(solver.presented).toEqual([]);
  });
});

describe('ACME error classification', () => {
  const problem = (type: string) => ({ type: `urn:ietf:params:acme:error:${type}`, detail: 'x' });

  it('treats refusals as permanent and everything else as transient', () => {
    for (const type of ['malformed', 'rejectedIdentifier', 'unauthorized', 'caa']) {
      expect(isPermanentAcmeError(new AcmeError(type, [problem(type)]))).toBe(true);
    }
    for (const type of ['badNonce', 'rateLimited', 'serverInternal', 'dns', 'connection']) {
      expect(isPermanentAcmeError(new AcmeError(type, [problem(type)]))).toBe(false);
    }
    expect(isPermanentAcmeError(new Error('connect ECONNREFUSED 127.0.0.1:14000'))).toBe(false);
  });

  it('finds the CA’s answer behind added context, with its Retry-After', () => {
    const limited = new AcmeError('too many', [problem('rateLimited')], 30_000);
    const wrapped = new Error('ordering a certificate failed: too many', { cause: limited });
    expect(isPermanentAcmeError(wrapped)).toBe(false);
    expect(acmeRetryAfterMs(wrapped)).toBe(30_000);
    expect(isPermanentAcmeError(new Error('outer', { cause: new AcmeError('caa', [problem('caa')]) }))).toBe(true);
  });
});
