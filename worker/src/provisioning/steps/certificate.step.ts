import type { DnsRecord } from '../../ports/dns-provider.js';
import { acmeAccountKey } from '../acme-account.js';
import { renewAfter } from '../certificate-timing.js';
import { acmeChallengeName, certificateNames } from '../dns-plan.js';
import { delegatedChallengeName } from '../../contracts/custom-domain.js';
import { waitForRecords } from '../dns-propagation.js';
import { loadServer, type StepDeps } from '../step-deps.js';
import { claimAcmeOrder } from '../acme-budget.js';
import { assertChallengesDelegated, challengeDelegations } from '../challenge-delegation.js';
import { certificateKeyContext } from '../../contracts/secret-contexts.js';

const CHALLENGE_TTL = 60;
/** A certificate this close to expiry is not worth installing on a new server. */
const MIN_REMAINING_MS = 7 * 24 * 3600 * 1000;

export async function certificateStep(deps: StepDeps, serverId: string): Promise<string> {
  const server = await loadServer(deps.prisma, serverId);
  const names = certificateNames(server.domain);
  const current = await deps.prisma.certificate.findFirst({ where: { serverId, status: 'active' }, orderBy: { createdAt: 'desc' } });
  if (current?.notAfter && sameNames(current.names, names) && current.notAfter.getTime() - Date.now() > MIN_REMAINING_MS) {
    return `Certificate for ${names.join(', ')} already valid until ${current.notAfter.toISOString()}`;
  }
  return issueCertificate(deps, server, names);
}

/** The server a certificate is issued for: its customer (whose order limit counts) and its domain. */
export interface IssuingServer {
  id: string;
  accountId: string;
  domain: string;
  customDomain: { id: string } | null;
}

/**
 * Where each name's DNS-01 answer goes: `_acme-challenge.<name>` in the platform zone, or, on a
 * customer's domain, the platform-zone name their `_acme-challenge` CNAME delegates to.
 */
export function challengeNamer(server: { domain: string; customDomain: { id: string } | null }, platformZone: string): (name: string) => string {
  const custom = server.customDomain;
  return custom ? (name) => delegatedChallengeName({ id: custom.id, name: server.domain }, name, platformZone) : acmeChallengeName;
}

/**
 * Issues a new certificate for the names and makes it the server's active one. On a customer's
 * domain, the `_acme-challenge` CNAMEs are checked first: without them validation cannot pass,
 * so no ACME order is spent. Each new order is claimed against the order budget before it is made.
 */
export async function issueCertificate(deps: StepDeps, server: IssuingServer, names: string[]): Promise<string> {
  const serverId = server.id;
  const custom = server.customDomain;
  if (custom) {
    await assertChallengesDelegated(deps.resolver, challengeDelegations({ id: custom.id, name: server.domain }, names, deps.settings.platformZone));
  }
  // An issuance interrupted by a crash may have left challenge values behind: always clean up.
  await deps.ledger.withdraw(serverId, 'acme_challenge');
  const account = await acmeAccountKey(deps.prisma, deps.secrets, deps.ca, deps.settings.acmeContactEmail);
  const challengeName = challengeNamer(server, deps.settings.platformZone);
  const challenge = (name: string, value: string): DnsRecord => ({ name: challengeName(name), type: 'TXT', ttl: CHALLENGE_TTL, value });
  const issued = await deps.ca.issue({
    names,
    accountKeyPem: account.keyPem,
    contactEmail: deps.settings.acmeContactEmail,
    beforeOrder: (ordered) =>
      claimAcmeOrder(deps.prisma, deps.settings.acmeOrderLimits, { acmeAccountId: account.accountId, serverId, accountId: server.accountId, names: ordered }),
    solver: {
      present: async (name, value) => {
        await deps.ledger.publish(serverId, [{ record: challenge(name, value), purpose: 'acme_challenge' }]);
        await waitForRecords(deps.settings.dnsResolver, [challenge(name, value)], {
          timeoutMs: deps.settings.dnsPropagationTimeoutMs,
          intervalMs: 100,
        });
      },
      cleanup: async (name, value) => {
        await deps.ledger.withdrawValues([challenge(name, value)]);
      },
    },
  });

  const sealed = deps.secrets.seal('certificate_key', issued.privateKeyPem, certificateKeyContext(serverId));
  await deps.prisma.$transaction(async (tx) => {
    await tx.certificate.updateMany({ where: { serverId, status: 'active' }, data: { status: 'superseded' } });
    await tx.certificate.create({
      data: {
        server: { connect: { id: serverId } },
        names: issued.names,
        status: 'active',
        acmeAccount: { connect: { id: account.accountId } },
        serial: issued.serial,
        notBefore: issued.notBefore,
        notAfter: issued.notAfter,
        renewAfter: renewAfter(issued.notBefore, issued.notAfter),
        chainPem: issued.chainPem,
        lastAttemptAt: new Date(),
        privateKey: { create: sealed },
      },
    });
  });
  return `Certificate issued for ${issued.names.join(', ')}, valid until ${issued.notAfter.toISOString()}`;
}

function sameNames(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}
