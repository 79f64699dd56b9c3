import { Resolver } from 'node:dns/promises';
import { HttpProblem } from '../http/problem.js';
import type { Lookup, RecordType } from './domain-records.js';

/** What a customer's records are checked with, and what a server's name is checked for. */
export type LookupType = RecordType | 'A' | 'AAAA' | 'MX';

// Per try, and tries per query: a verification waits at most a few seconds for a resolver that
// does not answer (c-ares doubles the timeout on the second try).
const TIMEOUT_MS = 1_500;
const TRIES = 2;
/** "No such name" and "no record of this type": the customer has not created it (yet). */
const ABSENT = new Set(['ENOTFOUND', 'ENODATA']);
/** The resolver itself did not answer. */
const NO_ANSWER = new Set(['ECONNREFUSED', 'ETIMEOUT']);
const RETRY_AFTER_SECONDS = 5;

/** Thrown when no query got any answer from the resolver: DNS is down, not the customer's records. */
export class ResolverUnreachableError extends Error {
  constructor(readonly resolver: string) {
    super(`the DNS resolver ${resolver} did not answer`);
    this.name = 'ResolverUnreachableError';
  }
}

/** The 503 for a resolver that did not answer: `what` was not checked and nothing changed. */
export function dnsUnavailable(error: ResolverUnreachableError, what: string): HttpProblem {
  return new HttpProblem(
    503,
    'Service unavailable',
    `DNS could not be asked: the resolver ${error.resolver} did not answer, so ${what} was not checked and nothing was changed. Try again in a few seconds.`,
    { dependency: 'dns' },
    { 'retry-after': String(RETRY_AFTER_SECONDS) },
  );
}

/** Real lookups through one resolver (DNS_RESOLVER), or the system's resolvers when it is not set. */
export class DnsLookup {
  constructor(private readonly server: string | null) {}

  /**
   * One answer per query, in order. Values come back in zone-file form: TXT strings joined,
   * CNAME and SRV targets absolute (trailing dot), SRV as "priority weight port target".
   */
  async lookupAll(queries: { name: string; type: LookupType }[]): Promise<Lookup[]> {
    const resolver = new Resolver({ timeout: TIMEOUT_MS, tries: TRIES });
    if (this.server !== null) resolver.setServers([this.server]);
    const results = await Promise.all(queries.map((query) => lookup(resolver, query.name, query.type)));
    // A single unanswered query is the customer's DNS being slow; all of them is the resolver.
    if (results.length > 0 && results.every((r) => r.kind === 'failed' && NO_ANSWER.has(r.code))) {
      throw new ResolverUnreachableError(resolver.getServers().join(', ') || 'of this system');
    }
    return results;
  }
}

async function lookup(resolver: Resolver, name: string, type: LookupType): Promise<Lookup> {
  try {
    switch (type) {
      case 'TXT':
        return { kind: 'found', values: (await resolver.resolveTxt(name)).map((chunks) => chunks.join('')) };
      case 'CNAME':
        return { kind: 'found', values: (await resolver.resolveCname(name)).map(absolute) };
      case 'SRV':
        return { kind: 'found', values: (await resolver.resolveSrv(name)).map((r) => `${r.priority} ${r.weight} ${r.port} ${absolute(r.name)}`) };
      case 'A':
        return { kind: 'found', values: await resolver.resolve4(name) };
      case 'AAAA':
        return { kind: 'found', values: await resolver.resolve6(name) };
      case 'MX':
        return { kind: 'found', values: (await resolver.resolveMx(name)).map((r) => `${r.priority} ${absolute(r.exchange)}`) };
    }
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string') throw error;
    return ABSENT.has(code) ? { kind: 'none' } : { kind: 'failed', code };
  }
}

function absolute(name: string): string {
  return `${name.toLowerCase().replace(/\.$/, '')}.`;
}
