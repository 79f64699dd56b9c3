import type { DnsRecord } from '../ports/dns-provider.js';
import type { IssuedCertificate } from '../ports/certificate-authority.js';
import { acmeAccountKey } from './acme-account.js';
import { claimAcmeOrder } from './acme-budget.js';
import type { RecordOwner } from './dns-ledger.js';
import { waitForRecords } from './dns-propagation.js';
import type { StepDeps } from './step-deps.js';

const CHALLENGE_TTL = 60;

export interface Dns01Order {
  /** Whose ledger rows the challenge values are filed under. */
  owner: RecordOwner;
  names: string[];
  /** Where each name's TXT answer is published. */
  challengeName: (name: string) => string;
  /** The customer whose order limit counts too; null for the platform's own names. */
  customer: { serverId: string; accountId: string } | null;
}

/**
 * Issues one certificate through the platform's ACME account and DNS-01: each new order is
 * claimed against the order budget first, each challenge value published through the ledger and
 * awaited on authoritative DNS, and withdrawn again whatever the outcome.
 */
export async function issueThroughDns01(deps: StepDeps, order: Dns01Order): Promise<{ issued: IssuedCertificate; acmeAccountId: string }> {
  // An issuance interrupted by a crash may have left challenge values behind: always clean up.
  await deps.ledger.withdraw(order.owner, 'acme_challenge');
  const account = await acmeAccountKey(deps.prisma, deps.secrets, deps.ca, deps.settings.acmeContactEmail);
  const challenge = (name: string, value: string): DnsRecord => ({ name: order.challengeName(name), type: 'TXT', ttl: CHALLENGE_TTL, value });
  const issued = await deps.ca.issue({
    names: order.names,
    accountKeyPem: account.keyPem,
    contactEmail: deps.settings.acmeContactEmail,
    beforeOrder: (ordered) =>
      claimAcmeOrder(deps.prisma, deps.settings.acmeOrderLimits, {
        acmeAccountId: account.accountId,
        serverId: order.customer?.serverId ?? null,
        accountId: order.customer?.accountId ?? null,
        names: ordered,
      }),
    solver: {
      present: async (name, value) => {
        await deps.ledger.publish(order.owner, [{ record: challenge(name, value), purpose: 'acme_challenge' }]);
        await waitForRecords(deps.settings.dnsResolver, [challenge(name, value)], { timeoutMs: deps.settings.dnsPropagationTimeoutMs, intervalMs: 100 });
      },
      cleanup: async (name, value) => {
        await deps.ledger.withdrawValues([challenge(name, value)]);
      },
    },
  });
  return { issued, acmeAccountId: account.accountId };
}
