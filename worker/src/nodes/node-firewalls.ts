import type { TenantFirewall, TenantFirewallPlan } from '../ports/tenant-firewall.js';

/** The bridge a Swarm node's servers join (its predefined `bridge` network, see the Swarm runtime). */
export const SWARM_NODE_BRIDGE = 'docker0';

/** A node row's part its firewall needs. */
export interface FirewalledNode {
  name: string;
  publicAddress: string;
  dockerEndpoint: string;
  portRangeStart: number;
  portRangeEnd: number;
}

/**
 * A Swarm node's tenant firewall: its servers may reach its own published ports and every other
 * node's (federation between neighbours, as from anywhere), the containers' name servers, and
 * the internet; not the node itself, the other nodes' other ports (Swarm's control plane), private
 * ranges or metadata.
 */
export function nodeFirewallPlan(node: FirewalledNode, all: readonly FirewalledNode[], containerDns: readonly string[]): TenantFirewallPlan {
  return {
    bridge: SWARM_NODE_BRIDGE,
    publishedPorts: { first: node.portRangeStart, last: node.portRangeEnd },
    containerDns,
    peers: all.filter((n) => n.name !== node.name).map((n) => ({ address: n.publicAddress, first: n.portRangeStart, last: n.portRangeEnd })),
  };
}

export interface NodeFirewallsDeps {
  /** The registered nodes (not removed). */
  nodes(): Promise<FirewalledNode[]>;
  /** The firewall of one node, applied through its engine. */
  firewallOf(node: FirewalledNode): TenantFirewall;
  containerDns: readonly string[];
}

/**
 * Keeps every Swarm node's tenant firewall installed: all of them at once (each plan names the
 * others), and again for all when a node that was down is back (a rebooted machine has lost its
 * rules) or the nodes changed.
 */
export class NodeFirewalls {
  private lastDown: ReadonlySet<string> = new Set();
  private lastNodes = '';

  constructor(private readonly deps: NodeFirewallsDeps) {}

  /**
   * Installs the firewall on every node not in `down`, counting `joining` (a node being added,
   * not registered yet) among them; fails naming each node it could not.
   */
  async applyAll(down: ReadonlySet<string>, joining?: FirewalledNode): Promise<void> {
    const registered = await this.deps.nodes();
    const nodes = joining ? [...registered.filter((n) => n.name !== joining.name), joining] : registered;
    const up = nodes.filter((n) => !down.has(n.name));
    const results = await Promise.allSettled(up.map((node) => this.deps.firewallOf(node).apply(nodeFirewallPlan(node, nodes, this.deps.containerDns))));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${up[i]?.name ?? '?'}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`] : []));
    if (failed.length > 0) throw new Error(`the tenant firewall is not installed on ${failed.length} node(s): ${failed.join('; ')}`);
    this.lastDown = down;
    this.lastNodes = signature(nodes);
  }

  /** After a look at which nodes are down: installs again when one came back or the nodes changed. */
  async refresh(down: ReadonlySet<string>): Promise<boolean> {
    const returned = [...this.lastDown].some((name) => !down.has(name));
    const changed = signature(await this.deps.nodes()) !== this.lastNodes;
    if (!returned && !changed) {
      this.lastDown = down;
      return false;
    }
    await this.applyAll(down);
    return true;
  }
}

function signature(nodes: readonly FirewalledNode[]): string {
  return JSON.stringify(nodes.map((n) => [n.name, n.publicAddress, n.portRangeStart, n.portRangeEnd]).sort());
}
