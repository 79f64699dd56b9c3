import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { classifyError } from '../../worker/src/jobs/error-type.js';
import { JobDeadlineError } from '../../worker/src/jobs/job-deadline.js';
import { jobDefiner, JobRegistry } from '../../worker/src/jobs/job-registry.js';

const job = jobDefiner<object>();
const hangs = job('hang', z.object({}), () => new Promise<string>(() => undefined));
const quick = job('quick', z.object({}), () => Promise.resolve('done'));
const bullJob = (name: string) => ({ name, data: {} }) as Job;

describe('a job’s deadline', () => {
  const registry = new JobRegistry('q', ['hang', 'quick'], [hangs, quick]);

  it('fails a run that goes past it, with an error that says so and is retried', async () => {
    const started = Date.now();
    const run = registry.processor({}, 200)(bullJob('hang'));
    await expect(run).rejects.toBeInstanceOf(JobDeadlineError);
    await expect(run).rejects.toThrow('job hang ran past its deadline of 200 ms');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(classifyError(await run.catch((error: unknown) => error))).toEqual({ type: 'deadline_exceeded', permanent: false });
  });

  it('leaves a run that finishes in time alone', async () => {
    await expect(registry.processor({}, 200)(bullJob('quick'))).resolves.toBe('done');
  });
});
