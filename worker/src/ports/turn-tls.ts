/** The node's TURN server's TLS certificate: what it serves, and how a new one is put in service. */
export interface TurnTls {
  /** The chain (PEM) the TURN server has to serve now, or null when none is in place. */
  installedChain(): Promise<string | null>;
  /** Puts the chain and its key where the TURN server reads them and has it load them, without a restart. */
  install(chainPem: string, privateKeyPem: string): Promise<void>;
}
