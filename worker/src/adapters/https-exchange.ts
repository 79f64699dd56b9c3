import { request } from 'node:https';

export interface HttpsExchange {
  method: 'GET' | 'PUT';
  url: string;
  /**
   * Where the TCP connection goes when it is not the URL's host (a node's address, when the
   * name is not in DNS where the worker looks); TLS is still verified against the URL's host.
   */
  connectTo?: string;
  /** PEM roots to trust instead of the system store; undefined = the system roots. */
  ca: string[] | undefined;
  body?: Buffer;
  headers?: Record<string, string>;
  timeoutMs: number;
  /** Larger answers are cut off with an error (a check never buffers an unbounded body). */
  maxBodyBytes: number;
}

/** One HTTPS request with the certificate verified against the URL's name; resolves with any status. */
export function httpsExchange(exchange: HttpsExchange): Promise<{ status: number; body: Buffer }> {
  const target = new URL(exchange.url);
  if (target.protocol !== 'https:') return Promise.reject(new Error(`${exchange.url} is not an https URL`));
  return new Promise((resolvePromise, rejectPromise) => {
    const resolve = (value: { status: number; body: Buffer }) => {
      clearTimeout(deadline);
      resolvePromise(value);
    };
    const reject = (error: Error) => {
      clearTimeout(deadline);
      rejectPromise(error);
    };
    const req = request(
      {
        host: exchange.connectTo ?? target.hostname,
        servername: target.hostname,
        port: target.port === '' ? 443 : Number(target.port),
        path: `${target.pathname}${target.search}`,
        method: exchange.method,
        ca: exchange.ca,
        headers: { ...exchange.headers, host: target.host },
        timeout: exchange.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > exchange.maxBodyBytes) req.destroy(new Error(`${exchange.method} ${exchange.url}: answer larger than ${exchange.maxBodyBytes} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    // The socket's idle timeout does not bound a slow trickle: the whole exchange has a deadline too.
    const deadline = setTimeout(() => req.destroy(new Error(`${exchange.method} ${exchange.url}: not done within ${exchange.timeoutMs} ms`)), exchange.timeoutMs);
    req.on('timeout', () => req.destroy(new Error(`${exchange.method} ${exchange.url}: no answer within ${exchange.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(exchange.body);
  });
}
