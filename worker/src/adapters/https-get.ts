import { request } from 'node:https';

/**
 * GET over HTTPS, trusting an extra CA when given. Node's fetch cannot take a CA per request,
 * and the sandbox CA (Pebble) serves its API with a certificate of its own.
 */
export function httpsGetText(url: string, ca: Buffer | undefined, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', ca, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 400) reject(new Error(`${url} answered HTTP ${res.statusCode}`));
        else resolve(Buffer.concat(chunks).toString('utf8'));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url} gave no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export async function httpsGetJson(url: string, ca: Buffer | undefined, timeoutMs: number): Promise<unknown> {
  const text = await httpsGetText(url, ca, timeoutMs);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${url} did not answer JSON`);
  }
}
