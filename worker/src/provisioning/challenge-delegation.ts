import { delegatedChallengeName } from '../contracts/custom-domain.js';
import type { DnsResolver } from '../ports/dns-resolver.js';

/** One `_acme-challenge` CNAME the customer created in their zone, pointing into the platform zone. */
export interface ChallengeDelegation {
  name: string;
  /** Absolute, with the trailing dot, as the customer's record must read. */
  target: string;
}

/**
 * The customer removed or changed an `_acme-challenge` CNAME: no certificate can be issued until
 * they put it back, so no ACME order is worth creating. `missing` is what they must create.
 */
export class ChallengeDelegationMissingError extends Error {
  constructor(readonly missing: ChallengeDelegation[]) {
    super(`the DNS-01 challenge is not delegated to Parley; create ${describeDelegations(missing)}`);
    this.name = 'ChallengeDelegationMissingError';
  }
}

/** What the customer must create, exactly: `_acme-challenge.chat.example.com CNAME <target>`, one per name. */
export function describeDelegations(delegations: ChallengeDelegation[]): string {
  return delegations.map((d) => `${d.name} CNAME ${d.target}`).join('; ');
}

/** The CNAMEs a server on a customer's domain needs: one per certificate name. */
export function challengeDelegations(domain: { id: string; name: string }, certificateNames: string[], platformZone: string): ChallengeDelegation[] {
  return certificateNames.map((name) => ({ name: `_acme-challenge.${name}`, target: `${delegatedChallengeName(domain, name, platformZone)}.` }));
}

/** Looks each CNAME up through the resolver; throws ChallengeDelegationMissingError naming those not pointing at Parley. */
export async function assertChallengesDelegated(resolver: DnsResolver, delegations: ChallengeDelegation[]): Promise<void> {
  const found = await Promise.all(delegations.map((d) => resolver.cnameTargets(d.name)));
  const missing = delegations.filter((d, i) => !found[i]?.includes(d.target));
  if (missing.length > 0) throw new ChallengeDelegationMissingError(missing);
}
