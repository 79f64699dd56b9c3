import type { StatusWords } from './queued-work.js';

/** A backup's or export's status badge, with why it failed and what happens next under it. */
export function WorkStatus({ status }: { status: StatusWords }) {
  return (
    <>
      <span className={`badge badge-${status.tone}`}>{status.label}</span>
      {status.detail ? <span className="backup-detail">{status.detail}</span> : null}
    </>
  );
}
