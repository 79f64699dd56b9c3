import type { ServerEvent } from '../api/types.js';
import { failureNotice } from './last-attempt.js';

/** Where a restore asked for on this page stands, from its attempts on the timeline. */
export function RestoreNotice({ attempt, following }: { attempt: ServerEvent | undefined; following: boolean }) {
  const failed = attempt?.status === 'failed' ? attempt : undefined;
  return (
    <>
      {following || attempt?.status === 'succeeded' ? (
        <p className="notice" role="status">
          {following
            ? 'Restoring: Parley keeps a safety backup of the data as it is now, then puts the backup’s data back. Apps reconnect once the server is ready again.'
            : 'Restored: the server has the backup’s data again. The data from before is kept as a safety backup, listed below.'}
        </p>
      ) : null}
      {failed ? (
        <p className="notice notice-warn" role="alert">
          {failureNotice(failed)}
        </p>
      ) : null}
    </>
  );
}
