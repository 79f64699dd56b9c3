import { renewAfter } from '../certificate-timing.js';
import { acmeChallengeName, certificateNames } from '../dns-plan.js';
import { delegatedChallengeName } from '../../contracts/custom-domain.js';
import { loadServer, type StepDeps } from '../step-deps.js';
import { issueThroughDns01 } from '../dns01-issuance.js';
import { assertChallengesDelegated, challengeDelegations } from '../challenge-delegation.js';
import { certificateKeyContext } from '../../contracts/secret-contexts.js';

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
  const { issued, acmeAccountId } = await issueThroughDns01(deps, {
    owner: { serverId },
    names,
    challengeName: challengeNamer(server, deps.settings.platformZone),
    customer: { serverId, accountId: server.accountId },
  });

  const sealed = deps.secrets.seal('certificate_key', issued.privateKeyPem, certificateKeyContext(serverId));
  await deps.prisma.$transaction(async (tx) => {
    await tx.certificate.updateMany({ where: { serverId, status: 'active' }, data: { status: 'superseded' } });
    await tx.certificate.create({
      data: {
        server: { connect: { id: serverId } },
        names: issued.names,
        status: 'active',
        acmeAccount: { connect: { id: acmeAccountId } },
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
