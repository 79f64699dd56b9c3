import { Link } from 'react-router';
import { incidentTitle } from '../server/incidents.js';
import { ago } from '../ui/format.js';
import { ScrollTable } from '../ui/scroll-table.js';
import type { AttentionItem } from './operator-types.js';

const STATUS = {
  needs_attention: { label: 'Needs attention', badge: 'badge-bad' },
  open: { label: 'Repairing', badge: 'badge-warn' },
} as const;

/** What the reconciler found wrong and has not put right: those it gave up on first. */
export function AttentionSection({ items, now }: { items: AttentionItem[]; now: number }) {
  return (
    <section className="card stack" aria-labelledby="operator-attention">
      <h2 id="operator-attention">Needs attention</h2>
      {items.length === 0 ? (
        <p className="hint">Nothing: every server is as Parley wants it.</p>
      ) : (
        <ScrollTable label="Servers with an open incident">
          <thead>
            <tr>
              <th scope="col">Server</th>
              <th scope="col">Problem</th>
              <th scope="col">Status</th>
              <th scope="col">Repairs</th>
              <th scope="col">Since</th>
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr key={item.id}>
                <td data-label="Server">
                  <Link to={`/servers/${item.server.id}`}>{item.server.domain}</Link>
                  <span className="block hint">{item.server.accountEmail}</span>
                </td>
                <td data-label="Problem">
                  {incidentTitle(item.kind)} <code>{item.kind}</code>
                </td>
                <td data-label="Status">
                  <span className={`badge ${STATUS[item.status].badge}`}>{STATUS[item.status].label}</span>
                </td>
                <td data-label="Repairs">
                  {item.repairAttempts} tried{item.lastErrorType ? <>, last failed: <code>{item.lastErrorType}</code></> : null}
                  {item.lastError ? <span className="block hint">{item.lastError}</span> : null}
                </td>
                <td data-label="Since">{ago(item.since, now)}</td>
              </tr>
            ))}
          </tbody>
        </ScrollTable>
      )}
    </section>
  );
}
