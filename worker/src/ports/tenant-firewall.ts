/** What the node's firewall lets customers' containers reach, beyond their own replies. */
export interface TenantFirewallPlan {
  /** The tenant network's bridge interface: traffic from it is a customer's. */
  bridge: string;
  /** The node's published ports (other servers' XMPP ports), which customers may reach, as anyone may. */
  publishedPorts: { first: number; last: number };
  /** Name servers given to containers (port 53 only), when not the host's own resolvers. */
  containerDns: readonly string[];
  /**
   * The other nodes' addresses and published ports (a Swarm's): reachable as from anywhere, also
   * when the nodes share a private network.
   */
  peers?: readonly { address: string; first: number; last: number }[];
}

/**
 * The node's rules for traffic from customers' containers: to the internet (federation) yes; to
 * each other, the host, private, loopback and link-local addresses (cloud metadata) no.
 */
export interface TenantFirewall {
  /** Idempotent: installs the rules, or replaces what an earlier run installed, in one step. */
  apply(plan: TenantFirewallPlan): Promise<void>;
}
