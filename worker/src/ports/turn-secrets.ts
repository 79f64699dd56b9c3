/** One version of a hosted server's TURN REST secret. */
export interface TurnSecret {
  version: number;
  value: string;
}

/**
 * Where the node's TURN server (coturn) reads the secrets it accepts credentials under, at every
 * request: a secret is honoured from the moment it is put, and refused from the moment it is
 * removed, with no restart.
 */
export interface TurnSecretStore {
  /** Idempotent: putting a version the store holds already changes nothing. */
  put(serverId: string, secret: TurnSecret): Promise<void>;
  /** Removes the server's versions below `version` (the rotation's last step); returns how many. */
  removeOlder(serverId: string, version: number): Promise<number>;
  /** Removes every version of the server's secret: its credentials are refused at once. */
  remove(serverId: string): Promise<number>;
  close(): Promise<void>;
}
