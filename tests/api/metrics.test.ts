import { request as httpRequest, type ClientRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenForMetrics } from '../../worker/src/metrics/metrics-http-server.js';
import { buildApp } from '../../api/src/app.js';
import { startApiHarness, withToken, type ApiHarness, type TestAccount } from '../support/api-harness.js';
import { readyServer } from '../support/api-tenant-fixtures.js';
import { until } from '../support/until.js';

let harness: ApiHarness;
let alice: TestAccount;

beforeAll(async () => {
  harness = await startApiHarness();
  alice = await harness.signUp();
});

afterAll(async () => {
  await harness?.close();
});

/** The value of the sample `name` with exactly these labels in Prometheus' text format; null when absent. */
function sampleOf(text: string, name: string, labels: Record<string, string>): number | null {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = new Map([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m): [string, string] => [m[1] ?? '', m[2] ?? '']));
    const same = found.size === Object.keys(labels).length && Object.entries(labels).every(([key, value]) => found.get(key) === value);
    if (same) return Number(match[3]);
  }
  return null;
}

const SERVER_ROUTE = '/api/v1/servers/:id';

describe('API request metrics', () => {
  it('counts and times requests by method, route pattern and status; unrouted paths as "unmatched"', async () => {
    const server = await readyServer(harness, alice);
    for (let i = 0; i < 2; i++) expect((await harness.inject({ method: 'GET', url: `/api/v1/servers/${server.id}`, headers: withToken(alice) })).statusCode).toBe(200);
    expect((await harness.inject({ method: 'GET', url: `/api/v1/servers/${server.id}` })).statusCode).toBe(401);
    expect((await harness.inject({ method: 'GET', url: '/api/v1/no-such-route-x7q' })).statusCode).toBe(404);

    const text = await harness.app.metrics.registry.metrics();
    expect(sampleOf(text, 'parley_api_requests_total', { method: 'GET', route: SERVER_ROUTE, status: '200' })).toBe(2);
    expect(sampleOf(text, 'parley_api_requests_total', { method: 'GET', route: SERVER_ROUTE, status: '401' })).toBe(1);
    expect(sampleOf(text, 'parley_api_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(sampleOf(text, 'parley_api_request_duration_seconds_count', { method: 'GET', route: SERVER_ROUTE })).toBe(3);
    expect(sampleOf(text, 'parley_api_request_duration_seconds_bucket', { method: 'GET', route: SERVER_ROUTE, le: '+Inf' })).toBe(3);
    expect(sampleOf(text, 'parley_api_request_duration_seconds_sum', { method: 'GET', route: SERVER_ROUTE })).toBeGreaterThan(0);
    // Patterns only: neither an id nor a scanner's path becomes a label value.
    expect(text).not.toContain(server.id);
    expect(text).not.toContain('no-such-route-x7q');
    // The process's own metrics are the serving process's (main.ts adds them), not every app's.
    expect(text).not.toContain('parley_api_process_cpu_user_seconds_total');
  });

  it('records nothing when no listener would serve them (API_METRICS_ADDRESS empty)', async () => {
    const app = buildApp({ config: { ...harness.config, metrics: null } });
    try {
      expect((await app.inject({ method: 'GET', url: '/api/v1/plans' })).statusCode).toBe(200);
      expect(await app.metrics.registry.metrics()).not.toMatch(/^parley_api_requests_total\{/m);
    } finally {
      await app.close();
    }
  });

  it('serves them on the operators\' listener over HTTP, and never on the public port', async () => {
    const errors: unknown[] = [];
    const listener = await listenForMetrics({ host: '127.0.0.1', port: 0, setting: 'API_METRICS_ADDRESS', registry: harness.app.metrics.registry, onError: (error) => errors.push(error) });
    try {
      const answer = await fetch(`http://${listener.address}/metrics`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe(harness.app.metrics.registry.contentType);
      const text = await answer.text();
      expect(sampleOf(text, 'parley_api_requests_total', { method: 'GET', route: SERVER_ROUTE, status: '200' })).toBe(2);
      expect(errors).toEqual([]);
    } finally {
      await listener.close();
    }

    // The public app leaves /metrics to the dashboard's fallback page: never the metrics.
    const publicAnswer = await harness.inject({ method: 'GET', url: '/metrics' });
    expect(publicAnswer.headers['content-type']).not.toBe(harness.app.metrics.registry.contentType);
    expect(publicAnswer.body).not.toContain('parley_api_requests_total');
  });

  it('gauges the live timeline streams open', async () => {
    const server = await readyServer(harness, alice);
    const address = await harness.app.listen({ host: '127.0.0.1', port: 0 });
    const openNow = async () => sampleOf(await harness.app.metrics.registry.metrics(), 'parley_api_sse_streams_open', {});
    expect(await openNow()).toBe(0);

    const stream = await new Promise<ClientRequest>((resolve, reject) => {
      const req = httpRequest(new URL(`/api/v1/servers/${server.id}/events/stream`, address), { headers: withToken(alice) }, (res) => {
        res.resume();
        if (res.statusCode === 200) resolve(req);
        else reject(new Error(`stream answered ${res.statusCode}`));
      });
      req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
      req.end();
    });
    expect(await openNow()).toBe(1);

    stream.destroy();
    await until('the closed stream is counted out', async () => ((await openNow()) === 0 ? true : null), 10_000);
  });
});
