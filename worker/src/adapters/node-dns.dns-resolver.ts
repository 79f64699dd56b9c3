import { Resolver } from 'node:dns/promises';
import { ResolverUnreachableError, type DnsResolver } from '../ports/dns-resolver.js';

// Per try, and tries per query: a check waits a few seconds at most for a resolver that does
// not answer (c-ares doubles the timeout on the second try).
const TIMEOUT_MS = 1_500;
const TRIES = 2;
/** The resolver itself did not answer; every other failure is about the name asked for. */
const NO_ANSWER = new Set(['ECONNREFUSED', 'ETIMEOUT']);

/** Lookups through one resolver (ADDRESS:PORT), with Node's c-ares client. */
export class NodeDnsResolver implements DnsResolver {
  constructor(private readonly server: string) {}

  async cnameTargets(name: string): Promise<string[]> {
    const resolver = new Resolver({ timeout: TIMEOUT_MS, tries: TRIES });
    resolver.setServers([this.server]);
    try {
      return (await resolver.resolveCname(name)).map((target) => `${target.toLowerCase().replace(/\.$/, '')}.`);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== 'string') throw error;
      if (NO_ANSWER.has(code)) throw new ResolverUnreachableError(this.server);
      // No such name, no CNAME there, or the name's own DNS refusing or failing: not delegated.
      return [];
    }
  }
}
