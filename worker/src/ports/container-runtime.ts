/** Where Parley's XMPP containers run: the local Docker engine today, a Swarm later. */
export interface ContainerRuntime {
  /** Read-only reachability check; resolves with the engine's version. */
  ping(): Promise<string>;
}
