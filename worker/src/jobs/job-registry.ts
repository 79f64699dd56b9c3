import { UnrecoverableError, type Job } from 'bullmq';
import type { z } from 'zod';
import { withDeadline } from './job-deadline.js';

/** One kind of job: its name (from the contracts) and how to run it with what the queue gives it. */
export interface JobHandler<Context> {
  readonly name: string;
  run(context: Context, job: Job): Promise<string>;
}

/** Makes a handler whose payload is checked against `schema` first: a malformed payload fails at once. */
export type DefineJob<Context> = <Payload>(
  name: string,
  schema: z.ZodType<Payload>,
  handle: (context: Context, payload: Payload, job: Job) => Promise<string>,
) => JobHandler<Context>;

/** `const job = jobDefiner<QueueContext>()`, then one `job(NAME, schema, handle)` per kind of job. */
export function jobDefiner<Context>(): DefineJob<Context> {
  return (name, schema, handle) => ({
    name,
    run: (context, job) => {
      const parsed = schema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`malformed payload for ${job.name}`);
      return handle(context, parsed.data, job);
    },
  });
}

/** The worker refuses to start with this: a job it would take from the queue and not know how to run. */
export class JobRegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobRegistryError';
  }
}

/**
 * The jobs of one queue by name. Checked when built: each name the contracts declare has exactly
 * one handler, and no handler is for a name the contracts do not declare (the API could never
 * enqueue it).
 */
export class JobRegistry<Context> {
  private readonly handlers = new Map<string, JobHandler<Context>>();

  constructor(
    readonly queue: string,
    declared: readonly string[],
    handlers: readonly JobHandler<Context>[],
  ) {
    for (const handler of handlers) {
      if (this.handlers.has(handler.name)) throw new JobRegistryError(`queue ${queue}: job "${handler.name}" has two handlers`);
      if (!declared.includes(handler.name)) throw new JobRegistryError(`queue ${queue}: job "${handler.name}" has a handler but is not declared in the contracts`);
      this.handlers.set(handler.name, handler);
    }
    const missing = declared.filter((name) => !this.handlers.has(name));
    if (missing.length > 0) throw new JobRegistryError(`queue ${queue}: no handler for ${missing.map((name) => `"${name}"`).join(', ')}`);
  }

  /** Runs a job by its name; a name with no handler fails for good (a retry would not find one either). */
  async dispatch(context: Context, job: Job): Promise<string> {
    const handler = this.handlers.get(job.name);
    if (!handler) throw new UnrecoverableError(`unknown job ${job.name} on queue ${this.queue}`);
    return handler.run(context, job);
  }

  /** The BullMQ processor for this queue; a run longer than `deadlineMs` fails and is retried. */
  processor(context: Context, deadlineMs: number): (job: Job) => Promise<string> {
    return (job) => withDeadline(this.dispatch(context, job), job.name, deadlineMs);
  }
}
