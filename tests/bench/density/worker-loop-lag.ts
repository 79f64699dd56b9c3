// How long the worker's event loop was held up while an order ran: a step's engine calls and
// database queries wait behind whatever else the worker runs (reconcile passes, compliance runs,
// the census), which no step's own timing shows. Read from the worker's Prometheus metrics:
// prom-client's event-loop histogram is reset at each read, so a read at an order's end covers
// the order alone when one was made at its start.

export interface LoopLag {
  meanMs: number;
  p99Ms: number;
  maxMs: number;
}

const METRICS = { meanMs: 'parley_worker_nodejs_eventloop_lag_mean_seconds', p99Ms: 'parley_worker_nodejs_eventloop_lag_p99_seconds', maxMs: 'parley_worker_nodejs_eventloop_lag_max_seconds' } as const;

async function scrape(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`the worker's metrics at ${url} answered ${response.status}`);
  return response.text();
}

/** Starts a measurement: the read empties the histogram. Its values are not used (right after another read it may hold no sample, its mean NaN). */
export async function resetLoopLag(url: string): Promise<void> {
  await scrape(url);
}

/** The event-loop delay since the previous read, from the worker's metrics at `url`. */
export async function readLoopLag(url: string): Promise<LoopLag> {
  const text = await scrape(url);
  const value = (name: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    const seconds = Number(line?.split(' ')[1]);
    if (!line || !Number.isFinite(seconds)) throw new Error(`the worker's metrics have no ${name} with a value: ${line ?? 'no line'}`);
    return Math.round(seconds * 10_000) / 10;
  };
  return { meanMs: value(METRICS.meanMs), p99Ms: value(METRICS.p99Ms), maxMs: value(METRICS.maxMs) };
}
