import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The route label of a request no route matched: a fixed value, so scanners' paths add no series. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Something that knows how many live timeline streams are open (the servers routes' OpenStreams). */
export interface OpenStreamCount {
  readonly size: number;
}

/**
 * The API's Prometheus metrics, in a registry of their own (never prom-client's global one, so
 * several apps in one process, as in the tests, do not share or collide). Served by main.ts on the
 * operators' listener only, never on the public port.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'parley_api_requests_total',
    help: 'Requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: 'parley_api_request_duration_seconds',
    help: 'Time to answer a request, by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  private openStreams: OpenStreamCount | null = null;

  constructor() {
    // Read at each scrape rather than counted here, so it cannot drift from the streams themselves.
    const streams = () => this.openStreams;
    new Gauge({
      name: 'parley_api_sse_streams_open',
      help: 'Live timeline streams (Server-Sent Events) this API process holds open',
      registers: [this.registry],
      collect() {
        this.set(streams()?.size ?? 0);
      },
    });
  }

  /**
   * Adds the process's own metrics (CPU, memory, event loop): only for the process that serves
   * them, as each call starts monitors that live as long as the process (tests build many apps).
   */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry, prefix: 'parley_api_' });
  }

  /** Where the open streams gauge reads its value from. */
  countStreams(streams: OpenStreamCount): void {
    this.openStreams = streams;
  }

  /** One answered request; `route` is Fastify's pattern (or UNMATCHED_ROUTE), never the raw URL. */
  observe(method: string, route: string, status: number, seconds: number): void {
    this.requests.inc({ method, route, status: String(status) });
    this.requestDuration.observe({ method, route }, seconds);
  }
}
