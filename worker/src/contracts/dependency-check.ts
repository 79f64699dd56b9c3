import { z } from 'zod';

export const dependencyStatusSchema = z.object({
  ok: z.boolean(),
  detail: z.string(),
  latencyMs: z.number(),
  /** When down, as a worker reports it: how many of its checks in a row failed, and when the first of them was. */
  failedChecks: z.number().int().positive().optional(),
  downSince: z.iso.datetime().optional(),
});
export type DependencyStatus = z.infer<typeof dependencyStatusSchema>;

/** A read-only probe of one dependency; resolves with a short human-readable detail. */
export type DependencyProbe = () => Promise<string>;

/**
 * Runs one probe under a deadline. A dependency that hangs (a Redis client queueing
 * commands, a TCP connect to a dead host) must read as "down", not stall the caller.
 */
export async function runDependencyCheck(probe: DependencyProbe, timeoutMs: number): Promise<DependencyStatus> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const detail = await Promise.race([probe(), deadline]);
    return { ok: true, detail, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, detail: describeError(error), latencyMs: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.map(describeError).join('; ');
  }
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = error.message || error.name;
    return code && !message.includes(code) ? `${code}: ${message}` : message;
  }
  return String(error);
}
