import type { Account } from '../api/types.js';
import { counted, formatDate } from '../ui/format.js';

/** "512 MiB", "2 GiB": storage as people read it. */
const storage = (mib: number) => (mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`);

export function PlanCard({ account }: { account: Account }) {
  const { plan } = account;
  return (
    <section className="card stack" aria-labelledby="plan-title">
      <h2 id="plan-title">Plan and limits</h2>
      <dl className="facts">
        <dt>Plan</dt>
        <dd>{plan.name}</dd>
        <dt>Servers</dt>
        <dd>Up to {counted(plan.maxServers, 'server')}</dd>
        <dt>Users</dt>
        <dd>Up to {counted(plan.maxUsersPerServer, 'user')} per server</dd>
        <dt>File uploads</dt>
        <dd>{storage(plan.storageMiB)} per server</dd>
        <dt>Customer since</dt>
        <dd>{formatDate(account.createdAt)}</dd>
      </dl>
    </section>
  );
}
