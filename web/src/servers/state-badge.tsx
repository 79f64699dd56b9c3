import type { ServerState } from '../api/types.js';

const LABELS: Record<ServerState, string> = {
  ordered: 'Ordered',
  allocating: 'Setting up',
  dns: 'Setting up',
  certificate: 'Setting up',
  configuring: 'Setting up',
  starting: 'Starting',
  bootstrapping: 'Setting up',
  probing: 'Checking',
  ready: 'Ready',
  stopped: 'Stopped',
  failed: 'Failed',
  deprovisioning: 'Deleting',
  deleted: 'Deleted',
};

const TONES: Partial<Record<ServerState, string>> = { ready: 'good', failed: 'bad', stopped: 'muted', deleted: 'muted', deprovisioning: 'muted' };

export function StateBadge({ state }: { state: ServerState }) {
  return <span className={`badge badge-${TONES[state] ?? 'busy'}`}>{LABELS[state]}</span>;
}
