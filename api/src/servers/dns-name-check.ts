import type { PrismaClient } from '../../../prisma/client.js';
import { describeForeignRecords, serverDnsNames } from '../../../worker/src/contracts/server-dns-names.js';
import { DnsLookup, ResolverUnreachableError, dnsUnavailable, type LookupType } from '../domains/dns-lookup.js';
import { HttpProblem } from '../http/problem.js';

interface FoundRecord {
  name: string;
  type: LookupType;
  value: string;
}

/**
 * Refuses a platform name whose DNS already holds records Parley's ledger does not own (left by
 * someone with access to the zone, or by another system): a server there would share its name.
 * The worker checks again before it publishes, against the provider itself.
 */
export class DnsNameCheck {
  private readonly dns: DnsLookup;

  constructor(
    private readonly prisma: PrismaClient,
    dnsResolver: string | null,
  ) {
    this.dns = new DnsLookup(dnsResolver);
  }

  async refuseForeign(domain: string): Promise<void> {
    const { hosts, services } = serverDnsNames(domain);
    const queries = [
      ...hosts.flatMap((name) => (['A', 'AAAA', 'CNAME'] as const).map((type) => ({ name, type }))),
      { name: domain, type: 'TXT' as const },
      { name: domain, type: 'MX' as const },
      ...services.map((name) => ({ name, type: 'SRV' as const })),
    ];
    let found: FoundRecord[];
    try {
      const answers = await this.dns.lookupAll(queries);
      found = queries.flatMap((query, i) => {
        const answer = answers[i];
        return answer?.kind === 'found' ? answer.values.map((value) => ({ ...query, value })) : [];
      });
    } catch (error) {
      if (!(error instanceof ResolverUnreachableError)) throw error;
      throw dnsUnavailable(error, `whether ${domain} is free in DNS`);
    }
    const foreign = await this.notInLedger(found);
    if (foreign.length === 0) return;
    const reason = `${domain} already has DNS records that Parley did not create (${describeForeignRecords(foreign)}); choose another name.`;
    throw new HttpProblem(409, 'Name taken', reason, { errors: [{ in: 'body', field: 'name', message: 'already has DNS records' }] });
  }

  private async notInLedger(found: FoundRecord[]): Promise<FoundRecord[]> {
    if (found.length === 0) return [];
    const rows = await this.prisma.dnsRecord.findMany({
      where: { deletedAt: null, name: { in: [...new Set(found.map((r) => r.name))] } },
      select: { name: true, type: true, value: true },
    });
    const owned = new Set(rows.map((r) => `${r.name}|${r.type}|${r.value.toLowerCase()}`));
    return found.filter((r) => !owned.has(`${r.name}|${r.type}|${r.value.toLowerCase()}`));
  }
}
