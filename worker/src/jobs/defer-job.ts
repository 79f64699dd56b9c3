import { DelayedError, type Job } from 'bullmq';

/**
 * Ends this run of `job` and puts it back to run again at `at` (epoch ms), without counting an
 * attempt: unlike waiting inside the job, its worker slot is free meanwhile for the jobs it
 * steps aside for.
 */
export async function deferJob(job: Job, at: number): Promise<never> {
  await job.moveToDelayed(at, job.token);
  throw new DelayedError();
}
