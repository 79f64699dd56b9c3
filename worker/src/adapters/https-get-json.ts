import { request } from 'node:https';

/**
 * GET a JSON document over HTTPS, trusting an extra CA when given. Node's fetch cannot take a
 * CA per request, and the sandbox CA (Pebble) serves its API with a certificate of its own.
 */
export function httpsGetJson(url: string, ca: Buffer | undefined, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', ca, timeout: timeoutMs, headers: { Accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 400) {
          reject(new Error(`${url} answered HTTP ${res.statusCode}`));
          return;
        }
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          reject(new Error(`${url} did not answer JSON`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url} gave no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
