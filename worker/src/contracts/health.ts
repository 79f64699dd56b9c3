import { z } from 'zod';

/**
 * What the reconciler can find wrong with a provisioned server. The codes are stored (incident
 * kind, server health issue) and read by the API: a new kind is added here, never renamed.
 */
export const FINDING_KINDS = [
  'container_missing',
  'container_stopped',
  'container_spec_drift',
  'ports_mismatch',
  'xmpp_unresponsive',
  'certificate_mismatch',
  'config_files_missing',
  'config_outdated',
  'dns_record_missing',
  'node_down',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** Findings that mean nobody can connect; the others leave XMPP answering. */
const OUTAGES: ReadonlySet<FindingKind> = new Set(['container_missing', 'container_stopped', 'xmpp_unresponsive', 'node_down']);
export const isOutage = (kind: FindingKind): boolean => OUTAGES.has(kind);

export const HEALTH_STATUSES = ['unknown', 'ok', 'degraded', 'down', 'needs_attention'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

/** The customer's words for each finding while Parley repairs it. */
const REPAIRING: Record<FindingKind, string> = {
  container_missing: 'Your server was removed from its machine unexpectedly; Parley is recreating it from its data.',
  container_stopped: 'Your server stopped unexpectedly; Parley is restarting it.',
  container_spec_drift: 'Your server is not running the configuration Parley set; Parley is putting it back.',
  ports_mismatch: 'Your server is not reachable on its assigned ports; Parley is recreating it.',
  xmpp_unresponsive: 'Your server is running but does not answer chat connections; Parley is restarting it.',
  certificate_mismatch: 'Your server is not presenting its current TLS certificate; Parley is reinstalling it.',
  config_files_missing: 'Files of your server (its configuration or TLS certificate) are missing; Parley is reinstalling them.',
  config_outdated: "Parley is updating your server's configuration to its current version and reloading it.",
  dns_record_missing: 'A DNS record of your server is missing or was changed; Parley is putting it back.',
  node_down: 'The machine your server runs on stopped answering. Your server comes back with it, or Parley restores it on another machine from its latest backup.',
};

/** What the customer reads for the server's health (null when all is well or not yet known). */
export function healthMessage(status: HealthStatus, issue: string | null): string | null {
  if (status === 'ok' || status === 'unknown') return null;
  const kind = (FINDING_KINDS as readonly string[]).includes(issue ?? '') ? (issue as FindingKind) : null;
  if (status === 'needs_attention') {
    return 'Parley tried to repair your server several times and it keeps failing, so it has stopped retrying; operators see it too. Restart the server from Manage to try again.';
  }
  return kind ? REPAIRING[kind] : 'Parley found a problem with your server and is repairing it.';
}

export const HEAL_JOB = 'heal';
export const healJobSchema = z.object({ serverId: z.uuid() });
export type HealJob = z.infer<typeof healJobSchema>;
/** One check of a server at a time; a check queued while one waits adds nothing. */
export const healJobId = (serverId: string): string => `heal.${serverId}`;
