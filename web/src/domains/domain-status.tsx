import type { Domain } from '../api/types.js';

const LABELS: Record<Domain['status'], string> = { pending: 'Not verified yet', verified: 'Verified', failed: 'Needs attention', expired: 'Expired' };
const TONES: Record<Domain['status'], string> = { pending: 'busy', verified: 'good', failed: 'bad', expired: 'bad' };

export function DomainStatus({ status }: { status: Domain['status'] }) {
  return <span className={`badge badge-${TONES[status]}`}>{LABELS[status]}</span>;
}
