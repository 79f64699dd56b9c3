import { Link, useNavigate, useParams } from 'react-router';
import { withoutApiReferences } from '../api/plain-words.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { formatDateTime } from '../ui/format.js';
import { QueryFallback } from '../ui/query-fallback.js';
import { usePageTitle } from '../ui/use-page-title.js';
import { useDomain, useRemoveDomain, useVerifyDomain } from './domain-queries.js';
import { DomainStatus } from './domain-status.js';
import { RecordRow } from './record-row.js';

export function DomainPage() {
  const { domainId = '' } = useParams();
  const domain = useDomain(domainId);
  const verify = useVerifyDomain(domainId);
  const remove = useRemoveDomain(domainId);
  const navigate = useNavigate();
  usePageTitle(domain.data?.name ?? 'Domain');

  if (!domain.data) return <QueryFallback pending={domain.isPending} error={domain.error} back={{ to: '/domains', label: 'Back to domains' }} />;
  const d = domain.data;
  return (
    <div className="page">
      <p className="crumb">
        <Link to="/domains">Domains</Link>
      </p>
      <div className="page-head">
        <h1>{d.name}</h1>
        <DomainStatus status={d.status} />
      </div>
      <p className="lede">{withoutApiReferences(d.statusDetail)}</p>
      <section className="card stack" aria-labelledby="records-title">
        <h2 id="records-title">Records to create at your DNS host</h2>
        <ul className="records">
          {d.records.map((record) => (
            <RecordRow key={`${record.type} ${record.name} ${record.purpose}`} record={record} />
          ))}
        </ul>
        {d.status === 'expired' ? (
          <p className="hint">
            This claim was not verified in time. <Link to="/domains">Add the domain again</Link> to get new records to create.
          </p>
        ) : (
          <>
            <ErrorNotice error={verify.error} />
            <div className="actions">
              <button type="button" className="button-primary" onClick={() => verify.mutate()} disabled={verify.isPending}>
                {verify.isPending ? 'Looking the records up…' : 'Verify now'}
              </button>
              {d.lastCheckedAt ? <span className="hint">Last checked {formatDateTime(d.lastCheckedAt)}</span> : null}
            </div>
            <p className="hint">
              DNS changes can take a few minutes to show; verify again if a record is not found yet.
              {d.status === 'pending' && d.expiresAt ? ` Until it is verified, the name is not yours: verify it by ${formatDateTime(d.expiresAt)}, or the claim expires.` : ''}
            </p>
          </>
        )}
      </section>
      <section className="card stack" aria-labelledby="remove-title">
        <h2 id="remove-title">Remove this domain</h2>
        <p className="hint">Not possible while a server runs on it.</p>
        <ErrorNotice error={remove.error} />
        <div className="actions">
          <button type="button" className="button-danger" onClick={() => remove.mutate(undefined, { onSuccess: () => void navigate('/domains') })} disabled={remove.isPending}>
            Remove domain
          </button>
        </div>
      </section>
    </div>
  );
}
