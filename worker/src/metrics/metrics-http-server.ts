import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { ConfigError } from '../contracts/env-fields.js';

/** An answer of a route beside /metrics. */
export interface RouteAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** A path the metrics listener answers besides /metrics; `path`'s groups are passed to `answer`. */
export interface MetricsRoute {
  path: RegExp;
  answer: (groups: string[]) => Promise<RouteAnswer>;
}

export interface MetricsListener {
  /** host:port it listens on (the port the kernel picked when 0 was asked). */
  readonly address: string;
  close(): Promise<void>;
}

/**
 * The operators' listener: /metrics in Prometheus' text format, plus the JSON routes given. Its own
 * port, never the public API's: what it shows (every server's domain, the platform's budgets) is
 * for the operators' Prometheus only.
 */
export async function listenForMetrics(options: {
  host: string;
  port: number;
  /** The variable that set the address: an address in use is a configuration error naming it. */
  setting: string;
  registry: Registry;
  routes?: MetricsRoute[];
  onError: (error: unknown) => void;
}): Promise<MetricsListener> {
  const routes = options.routes ?? [];
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://metrics').pathname;
    const answer = async (): Promise<[number, string, string]> => {
      if (request.method !== 'GET') return [405, 'text/plain', 'only GET\n'];
      if (path === '/metrics') return [200, options.registry.contentType, await options.registry.metrics()];
      for (const route of routes) {
        const match = route.path.exec(path);
        if (!match) continue;
        const found = await route.answer(match.slice(1));
        return [found.status, found.contentType, found.body];
      }
      return [404, 'text/plain', `no ${path} here\n`];
    };
    answer().then(
      ([status, type, body]) => response.writeHead(status, { 'content-type': type }).end(body),
      (error: unknown) => {
        options.onError(error);
        response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable, see the log\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') return reject(error);
      reject(new ConfigError([`${options.setting}: ${options.host}:${options.port} is in use (another process of this kind on this machine?); give each its own, or leave it empty for none`]));
    });
    server.listen(options.port, options.host, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : options.port;
  return {
    address: `${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
