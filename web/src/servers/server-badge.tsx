import type { Server } from '../api/types.js';
import { serverCondition } from './server-condition.js';

export function ServerBadge({ server }: { server: Pick<Server, 'state' | 'health'> }) {
  const { label, tone } = serverCondition(server);
  return <span className={`badge badge-${tone}`}>{label}</span>;
}
