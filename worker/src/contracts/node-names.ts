/**
 * Where clients reach a node's TURN over TLS, and the one name its certificate is for:
 * turn.<node hostname>, in the platform zone (no customer can order it: node labels are reserved).
 */
export const turnHostname = (nodeHostname: string): string => `turn.${nodeHostname}`;
