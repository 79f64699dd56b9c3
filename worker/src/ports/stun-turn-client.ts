/** A STUN or TURN server as XEP-0215 advertises it. */
export interface StunTurnServer {
  host: string;
  port: number;
}

export interface StunBinding {
  /** The address and port the server saw the request come from (`1.2.3.4:5678`). */
  reflexiveAddress: string;
}

export interface TurnRelay {
  /** The relayed transport address the allocation got. */
  relayedAddress: string;
  /** Messages sent through the relay, and received back through it. */
  sent: number;
  received: number;
}

export type StunTurnFailure = 'no_answer' | 'refused' | 'tool_missing';

export class StunTurnError extends Error {
  constructor(
    readonly failure: StunTurnFailure,
    message: string,
  ) {
    super(message);
    this.name = 'StunTurnError';
  }
}

/** A real STUN/TURN client (coturn's turnutils in production), every call bounded by `timeoutMs`. */
export interface StunTurnClient {
  /** A STUN Binding request over UDP. */
  binding(server: StunTurnServer, timeoutMs: number): Promise<StunBinding>;
  /** A TURN allocation over UDP with long-term credentials, then data relayed between two allocations. */
  relay(server: StunTurnServer, credentials: { username: string; password: string }, timeoutMs: number): Promise<TurnRelay>;
}
