import { createHash } from 'node:crypto';

/**
 * A move's request id derived from what asked for it (a drain request, an incident) and the
 * server, the same at every retry, so a retry adopts the move's work instead of starting another.
 * Shaped as a UUID (version 8).
 */
export function derivedMoveId(seed: string, serverId: string): string {
  const hex = createHash('sha256').update(`${seed}:${serverId}`).digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
