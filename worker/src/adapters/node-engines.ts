import Docker from 'dockerode';
import type { SwarmNodeDirectory, SwarmNodeEngine } from './swarm.container-runtime.js';

/** A node row's part the Swarm runtime needs. */
export interface NodeEndpoint {
  name: string;
  publicAddress: string;
  /** `unix:///path/to/docker.sock`: the node's engine, reached through a socket the worker can open. */
  dockerEndpoint: string;
}

/**
 * The registered nodes with a client of each one's engine, from the node rows read afresh at each
 * call (a node added while the worker runs is found), the clients kept per endpoint.
 */
export class NodeEngineDirectory implements SwarmNodeDirectory {
  private readonly clients = new Map<string, { docker: Docker; eventsClient: Docker }>();

  constructor(
    private readonly rows: () => Promise<NodeEndpoint[]>,
    private readonly requestTimeoutMs: number,
  ) {}

  async nodes(): Promise<SwarmNodeEngine[]> {
    return (await this.rows()).map((row) => ({ name: row.name, publicAddress: row.publicAddress, ...this.clientsFor(row.dockerEndpoint) }));
  }

  /** The client of the engine at `endpoint` (kept, like the ones nodes() hands out). */
  engineAt(endpoint: string): Docker {
    return this.clientsFor(endpoint).docker;
  }

  private clientsFor(endpoint: string): { docker: Docker; eventsClient: Docker } {
    let clients = this.clients.get(endpoint);
    if (!clients) {
      const socketPath = socketPathOf(endpoint);
      // The event stream stays idle for hours by design: its own client, without a request timeout.
      clients = { docker: new Docker({ socketPath, timeout: this.requestTimeoutMs }), eventsClient: new Docker({ socketPath }) };
      this.clients.set(endpoint, clients);
    }
    return clients;
  }
}

/** The socket path of a `unix://` endpoint; other schemes are refused by name. */
export function socketPathOf(endpoint: string): string {
  const match = /^unix:\/\/(\/.+)$/.exec(endpoint);
  if (!match?.[1]) throw new Error(`docker endpoint "${endpoint.slice(0, 200)}" is not unix:///absolute/path: the only kind of node engine endpoint Parley opens`);
  return match[1];
}
