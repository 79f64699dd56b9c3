import type { Incident } from '../api/types.js';

/** Each finding as a heading the customer reads; the API names kinds by code. */
const TITLES: Record<string, string> = {
  container_missing: 'Server removed from its machine',
  container_stopped: 'Server stopped unexpectedly',
  container_spec_drift: 'Server configuration changed',
  ports_mismatch: 'Server not reachable on its ports',
  xmpp_unresponsive: 'Server not answering chat connections',
  certificate_mismatch: 'Wrong TLS certificate served',
  config_files_missing: 'Server files missing',
  config_outdated: 'Configuration update',
  dns_record_missing: 'DNS record missing or changed',
  node_down: 'Machine down',
};

export const incidentTitle = (kind: string): string => TITLES[kind] ?? 'A problem with your server';

/** The incidents still going on, and the resolved ones, each newest first (as the API lists them). */
export function splitIncidents(incidents: readonly Incident[]): { current: Incident[]; resolved: Incident[] } {
  return {
    current: incidents.filter((i) => i.status !== 'resolved'),
    resolved: incidents.filter((i) => i.status === 'resolved'),
  };
}

/** "0.8 s", "1.2 s", "42 s", "3 min 5 s", "2 h 4 min": how long an incident lasted. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 10) return `${(Math.round(seconds * 10) / 10).toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const whole = Math.round(seconds);
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes} min${whole % 60 ? ` ${whole % 60} s` : ''}`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
}

/** How long an incident lasted, or has lasted so far while it goes on. */
export const incidentDuration = (incident: Pick<Incident, 'openedAt' | 'resolvedAt'>, now: number): number =>
  (incident.resolvedAt === null ? now : new Date(incident.resolvedAt).getTime()) - new Date(incident.openedAt).getTime();

const attempts = (n: number) => `${n} repair attempt${n === 1 ? '' : 's'}`;

/** What Parley is doing about an incident still going on, in plain words. */
export function repairWords(incident: Pick<Incident, 'status' | 'repairAttempts' | 'lastError'>): string {
  const reason = incident.lastError?.replace(/\.$/, '');
  if (incident.status === 'needs_attention') {
    return `Parley has stopped retrying after ${attempts(incident.repairAttempts)}${reason ? ` (the last failed: ${reason})` : ''}. Restart the server in Manage to try again; if that fails too, contact support.`;
  }
  if (incident.repairAttempts === 0) return 'Parley is repairing it now.';
  if (reason) return `Parley is repairing it: ${attempts(incident.repairAttempts)} so far, the last failed (${reason}); it tries again shortly.`;
  return `Parley is repairing it: ${attempts(incident.repairAttempts)} so far; checking that it works.`;
}
