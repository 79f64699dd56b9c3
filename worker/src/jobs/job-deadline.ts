/** A job's run took longer than its queue allows; BullMQ retries it like any transient failure. */
export class JobDeadlineError extends Error {
  constructor(
    readonly jobName: string,
    readonly deadlineMs: number,
  ) {
    super(`job ${jobName} ran past its deadline of ${deadlineMs} ms and was abandoned; it will be retried`);
    this.name = 'JobDeadlineError';
  }
}

/**
 * Settles with `run`, or rejects with JobDeadlineError once `deadlineMs` has passed. BullMQ has
 * no per-job timeout and a promise cannot be cancelled: the abandoned run goes on in the
 * background (every step is idempotent, and the calls it makes to the outside are bounded), but
 * the job no longer waits for it.
 */
export async function withDeadline<T>(run: Promise<T>, jobName: string, deadlineMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new JobDeadlineError(jobName, deadlineMs)), deadlineMs);
  });
  // The abandoned run may still fail later; its rejection is not this job's any more.
  run.catch(() => undefined);
  try {
    return await Promise.race([run, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
