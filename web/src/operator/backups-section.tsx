import { Link } from 'react-router';
import { everyWords } from '../server/backups.js';
import { ago } from '../ui/format.js';
import { ScrollTable } from '../ui/scroll-table.js';
import type { BackupAge } from './operator-types.js';

/** Servers by the age of their last good backup, never backed up first, each against its plan's interval. */
export function BackupsSection({ backups, now }: { backups: BackupAge[]; now: number }) {
  return (
    <section className="card stack" aria-labelledby="operator-backups">
      <h2 id="operator-backups">Backups by age</h2>
      {backups.length === 0 ? (
        <p className="hint">No server to back up yet.</p>
      ) : (
        <ScrollTable label="Servers by the age of their last backup">
          <thead>
            <tr>
              <th scope="col">Server</th>
              <th scope="col">Last backup</th>
              <th scope="col">Last failure</th>
              <th scope="col">Plan</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {backups.map((backup) => (
              <tr key={backup.server.id}>
                <td data-label="Server">
                  <Link to={`/servers/${backup.server.id}`}>{backup.server.domain}</Link>
                </td>
                <td data-label="Last backup">{backup.lastSucceededAt ? ago(backup.lastSucceededAt, now) : 'Never'}</td>
                <td data-label="Last failure">{backup.lastFailedAt ? ago(backup.lastFailedAt, now) : 'None'}</td>
                <td data-label="Plan">Backed up {everyWords(backup.intervalMinutes)}</td>
                <td data-label="Status">{backup.overdue ? <span className="badge badge-bad">Overdue</span> : <span className="badge badge-good">On time</span>}</td>
              </tr>
            ))}
          </tbody>
        </ScrollTable>
      )}
    </section>
  );
}
