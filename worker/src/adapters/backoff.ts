export interface BackoffOptions {
  /** Total tries, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Thrown when every attempt failed with a retryable error; `cause` is the last one. */
export class RetriesExhaustedError extends Error {
  constructor(
    message: string,
    readonly attempts: number,
    options: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'RetriesExhaustedError';
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt` until it succeeds, a non-retryable error occurs, or the attempts run out.
 * Delays grow exponentially with full jitter, so callers that were throttled together do not
 * come back together.
 */
export async function retryWithBackoff<T>(
  what: string,
  options: BackoffOptions,
  isRetryable: (error: unknown) => boolean,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let n = 1; ; n += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (!isRetryable(error)) throw error;
      if (n >= options.maxAttempts) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new RetriesExhaustedError(`${what} still failing after ${n} attempts: ${reason}`, n, { cause: error });
      }
      const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (n - 1));
      await sleep(Math.random() * ceiling);
    }
  }
}
