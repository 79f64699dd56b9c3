import type { HealthStatus, Server, ServerState } from '../api/types.js';

export type Tone = 'good' | 'bad' | 'warn' | 'busy' | 'muted';

const STATE_LABELS: Record<ServerState, string> = {
  ordered: 'Ordered',
  allocating: 'Setting up',
  dns: 'Setting up',
  certificate: 'Setting up',
  configuring: 'Setting up',
  starting: 'Starting',
  bootstrapping: 'Setting up',
  probing: 'Checking',
  ready: 'Ready',
  restoring: 'Restoring',
  moving: 'Moving',
  stopped: 'Stopped',
  failed: 'Failed',
  deprovisioning: 'Deleting',
  deleted: 'Deleted',
};

const STATE_TONES: Partial<Record<ServerState, Tone>> = { ready: 'good', failed: 'bad', stopped: 'muted', deleted: 'muted', deprovisioning: 'muted' };

type Trouble = Exclude<HealthStatus, 'ok' | 'unknown'>;

const HEALTH: Record<Trouble, { label: string; tone: Tone }> = {
  down: { label: 'Down', tone: 'bad' },
  degraded: { label: 'Degraded', tone: 'warn' },
  needs_attention: { label: 'Needs attention', tone: 'bad' },
};

/** The health that overrides the state, if any: only servers Parley watches (ready or stopped) have one. */
export function troubleOf(server: Pick<Server, 'state' | 'health'>): Trouble | null {
  const { status } = server.health;
  if (status === 'ok' || status === 'unknown') return null;
  return server.state === 'ready' || server.state === 'stopped' ? status : null;
}

/**
 * What a server's badge says. The state is the lifecycle Parley drives it through; the health is
 * what Parley observed, so a ready server that is down must read "Down", never "Ready". A stopped
 * one keeps "Stopped", the first thing to know about it; its trouble is said beside it.
 */
export function serverCondition(server: Pick<Server, 'state' | 'health'>): { label: string; tone: Tone } {
  const trouble = server.state === 'ready' ? troubleOf(server) : null;
  if (trouble) return HEALTH[trouble];
  return { label: STATE_LABELS[server.state], tone: STATE_TONES[server.state] ?? 'busy' };
}
