/** Reads DNS as the world sees it through the configured resolver (DNS_RESOLVER): names Parley does not control. */
export interface DnsResolver {
  /**
   * The CNAME targets at `name`: lowercase, absolute (trailing dot); empty when there is none or
   * the name's own DNS does not answer for it. Throws ResolverUnreachableError when the resolver
   * itself does not answer.
   */
  cnameTargets(name: string): Promise<string[]>;
}

/** The resolver did not answer: DNS is down, which says nothing about the records asked for. */
export class ResolverUnreachableError extends Error {
  constructor(readonly resolver: string) {
    super(`the DNS resolver ${resolver} did not answer`);
    this.name = 'ResolverUnreachableError';
  }
}
