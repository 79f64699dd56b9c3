import { Link } from 'react-router';
import { formatDate, relative } from '../ui/format.js';
import { ScrollTable } from '../ui/scroll-table.js';
import type { CertificateExpiry } from './operator-types.js';

const DAY_MS = 86_400_000;
/** The alert rule's horizon (infra/prometheus/alerts.yml): renewal should have happened long before. */
const SOON_DAYS = 14;

function ExpiryBadge({ notAfter, now }: { notAfter: string; now: number }) {
  const left = new Date(notAfter).getTime() - now;
  if (left <= 0) return <span className="badge badge-bad">Expired</span>;
  if (left < SOON_DAYS * DAY_MS) return <span className="badge badge-warn">Expires soon</span>;
  return null;
}

/** Active certificates, the soonest to expire first, with their renewal failures in a row. */
export function CertificatesSection({ certificates, now }: { certificates: CertificateExpiry[]; now: number }) {
  return (
    <section className="card stack" aria-labelledby="operator-certificates">
      <h2 id="operator-certificates">Certificates by expiry</h2>
      {certificates.length === 0 ? (
        <p className="hint">No active certificates.</p>
      ) : (
        <ScrollTable label="Certificates, soonest to expire first">
          <thead>
            <tr>
              <th scope="col">Server</th>
              <th scope="col">Expires</th>
              <th scope="col">Renewal failures</th>
            </tr>
          </thead>
          <tbody>
            {certificates.map((certificate) => (
              <tr key={certificate.id}>
                <td data-label="Server">
                  <Link to={`/servers/${certificate.server.id}`}>{certificate.server.domain}</Link>
                </td>
                <td data-label="Expires">
                  {formatDate(certificate.notAfter)} ({relative(certificate.notAfter, now)}) <ExpiryBadge notAfter={certificate.notAfter} now={now} />
                </td>
                <td data-label="Renewal failures">
                  {certificate.failureCount === 0 ? 'None' : `${certificate.failureCount} in a row`}
                  {certificate.lastErrorType ? <> (<code>{certificate.lastErrorType}</code>)</> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </ScrollTable>
      )}
    </section>
  );
}
