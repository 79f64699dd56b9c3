import type { ComplianceCheck, ServerDetail } from '../api/types.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { relative } from '../ui/format.js';
import { useCheckCompliance } from './compliance-queries.js';

const CATEGORY: Record<ComplianceCheck['category'], string> = { core: 'Core', im: 'Chat', mobile: 'Mobile', av: 'Calls' };

/** The XEP-0479 badge: what a real client found the server does, check by check. */
export function ComplianceCard({ server }: { server: ServerDetail }) {
  const check = useCheckCompliance(server.id);
  const compliance = server.compliance;
  const all = compliance !== null && compliance.passed === compliance.total;
  return (
    <section className="card stack" aria-labelledby="compliance-title">
      <h2 id="compliance-title">
        XMPP compliance{' '}
        {compliance ? (
          <span className={`badge ${all ? 'badge-good' : 'badge-bad'}`}>
            {compliance.passed} of {compliance.total} checks pass
          </span>
        ) : (
          <span className="badge badge-muted">Not checked yet</span>
        )}
      </h2>
      <p>
        Parley checks your server with a real app against the Compliance Suites 2023 (XEP-0479): chat, mobile and calls
        {compliance ? `; last checked ${relative(compliance.checkedAt)}.` : '; the first check runs once it is ready.'}
      </p>
      {compliance ? (
        <details open={!all}>
          <summary>Each check</summary>
          <ul className="plain">
            {compliance.checks.map((c) => (
              <li key={c.id}>
                <span className={`badge ${c.passed ? 'badge-good' : 'badge-bad'}`}>{c.passed ? 'Pass' : 'Fail'}</span> {CATEGORY[c.category]}: {c.title} ({c.spec})
                {c.passed ? null : <span className="hint"> — {c.detail}</span>}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
      {server.state === 'ready' ? (
        <div className="action-row">
          <button type="button" onClick={() => check.mutate()} disabled={check.isPending}>
            Check again
          </button>
          {check.isSuccess ? (
            <span className="hint" role="status">
              Checking; the results appear here in a minute.
            </span>
          ) : null}
        </div>
      ) : null}
      <ErrorNotice error={check.error} />
    </section>
  );
}
