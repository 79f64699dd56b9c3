import { NotFoundPage } from '../layout/not-found-page.js';
import { useSession } from '../session/use-session.js';
import { ago } from '../ui/format.js';
import { QueryFallback } from '../ui/query-fallback.js';
import { useNow } from '../ui/use-now.js';
import { usePageTitle } from '../ui/use-page-title.js';
import { AcmeBudgetSection } from './acme-budget-section.js';
import { AttentionSection } from './attention-section.js';
import { BackupsSection } from './backups-section.js';
import { CertificatesSection } from './certificates-section.js';
import { FailedJobsSection } from './failed-jobs-section.js';
import { NodesSection } from './nodes-section.js';
import { useOperatorOverview } from './operator-queries.js';
import { QueuesSection } from './queues-section.js';

/** Customers are told there is nothing here, and nothing of the console is asked for. */
export function OperatorPage() {
  const session = useSession();
  return session.data?.account.role === 'operator' ? <OperatorConsole /> : <NotFoundPage />;
}

function OperatorConsole() {
  usePageTitle('Operator console');
  const overview = useOperatorOverview();
  const now = useNow(5_000);
  if (!overview.data) return <QueryFallback pending={overview.isPending} error={overview.error} back={{ to: '/servers', label: 'Go to the servers' }} />;
  const view = overview.data;
  return (
    <div className="page">
      <div>
        <h1>Operator console</h1>
        <p className="lede">The platform as a whole: read {ago(view.generatedAt, now)}, kept current while this page is open.</p>
      </div>
      <NodesSection nodes={view.nodes} now={now} />
      <AttentionSection items={view.attention} now={now} />
      <FailedJobsSection now={now} />
      <CertificatesSection certificates={view.certificates} now={now} />
      <BackupsSection backups={view.backups} now={now} />
      <AcmeBudgetSection budget={view.acmeBudget} />
      <QueuesSection queues={view.queues} />
    </div>
  );
}
