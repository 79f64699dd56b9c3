import { useState } from 'react';
import { Link } from 'react-router';
import { ErrorNotice } from '../ui/error-notice.js';
import { ago } from '../ui/format.js';
import { ListTable } from '../ui/list-table.js';
import { useFailedJobs, useRetryJob } from './operator-queries.js';
import type { FailedJob } from './operator-types.js';

const COLUMNS = ['Job', 'Server', 'Failure', 'Attempts', 'Failed'] as const;

/** Jobs that failed for good, newest first, each with a Retry that puts it back on its queue. */
export function FailedJobsSection({ now }: { now: number }) {
  const failed = useFailedJobs();
  const retry = useRetryJob();
  const [retried, setRetried] = useState<FailedJob | null>(null);
  const retryJob = (job: FailedJob) => {
    setRetried(null);
    retry.mutate(job, { onSuccess: () => setRetried(job) });
  };
  const jobs = failed.data?.items ?? [];
  return (
    <section className="card stack" aria-labelledby="operator-failed-jobs">
      <h2 id="operator-failed-jobs">Failed jobs</h2>
      <ErrorNotice error={failed.error} />
      <p role="status">{retried ? `Retried ${retried.name} (${retried.id}): it is back on the ${retried.queue} queue.` : null}</p>
      <ErrorNotice error={retry.error} />
      <ListTable label="Failed jobs, newest first" columns={COLUMNS} empty="No failed jobs." loaded={failed.isSuccess}>
        {jobs.map((job) => (
          <tr key={`${job.queue}/${job.id}`}>
            <td data-label="Job">
              <strong>{job.name}</strong>
              <span className="block hint">
                <code>{job.id}</code> on {job.queue}
              </span>
            </td>
            <td data-label="Server">{job.serverId ? <Link to={`/servers/${job.serverId}`}>{job.serverDomain ?? job.serverId}</Link> : 'None'}</td>
            <td data-label="Failure">
              {job.errorType ? <code>{job.errorType}</code> : null}
              <span className="block hint">{job.reason}</span>
            </td>
            <td data-label="Attempts">{job.attemptsMade}</td>
            <td data-label="Failed">{job.finishedOn ? ago(job.finishedOn, now) : 'Unknown'}</td>
            <td>
              <button
                type="button"
                className="button-small"
                onClick={() => retryJob(job)}
                disabled={retry.isPending && retry.variables.id === job.id}
                aria-label={`Retry ${job.name} ${job.id}`}
              >
                Retry
              </button>
            </td>
          </tr>
        ))}
      </ListTable>
    </section>
  );
}
