import type { TurnTls } from '../ports/turn-tls.js';
import { turnHostname } from '../contracts/node-names.js';
import { renewAfter } from '../provisioning/certificate-timing.js';
import { acmeChallengeName, addressRecord } from '../provisioning/dns-plan.js';
import type { LedgerEntry } from '../provisioning/dns-ledger.js';
import { issueThroughDns01 } from '../provisioning/dns01-issuance.js';
import { DnsNameTakenError } from '../provisioning/step-errors.js';
import type { StepDeps } from '../provisioning/step-deps.js';

export interface TurnNode {
  id: string;
  hostname: string;
  publicAddress: string;
}

/**
 * Keeps the node's TURN over TLS in service: turn.<hostname> points at the node, and coturn serves
 * a certificate for it from the platform's CA that is not yet due for renewal. The newest row of
 * node_certificates is what coturn must serve; when its files hold anything else (the bootstrap's
 * self-signed placeholder, a lost disk) or the row is due, a new certificate is issued, recorded
 * and installed. The key exists only in coturn's files, so a lost key costs one new order.
 */
export async function keepTurnCertificate(deps: StepDeps, turnTls: TurnTls, node: TurnNode, now = new Date()): Promise<string> {
  const host = turnHostname(node.hostname);
  const address: LedgerEntry = { record: addressRecord(host, node.publicAddress), purpose: 'a_turn' };
  const foreign = await deps.ledger.publishIfFree({ nodeId: node.id }, [address]);
  if (foreign.length > 0) throw new DnsNameTakenError(host, foreign);
  await deps.ledger.withdrawStale({ nodeId: node.id }, [address]);

  const latest = await deps.prisma.nodeCertificate.findFirst({ where: { nodeId: node.id }, orderBy: { createdAt: 'desc' } });
  const installed = await turnTls.installedChain();
  if (latest && installed === latest.chainPem && latest.renewAfter > now) {
    return `TURN certificate for ${host} in service, valid until ${latest.notAfter.toISOString()}`;
  }
  const { issued } = await issueThroughDns01(deps, { owner: { nodeId: node.id }, names: [host], challengeName: acmeChallengeName, customer: null });
  await deps.prisma.nodeCertificate.create({
    data: {
      nodeId: node.id,
      names: issued.names,
      serial: issued.serial,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
      renewAfter: renewAfter(issued.notBefore, issued.notAfter),
      chainPem: issued.chainPem,
    },
  });
  await turnTls.install(issued.chainPem, issued.privateKeyPem);
  return `TURN certificate issued for ${host}, valid until ${issued.notAfter.toISOString()}, and loaded by coturn`;
}
