import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { xml } from '@xmpp/client';
import type { XmppSession } from './xmpp.js';

const NS_UPLOAD = 'urn:xmpp:http:upload:0';

/** A file put through XEP-0363: where to fetch it, and the digest of what was sent. */
export interface UploadedFile {
  getUrl: string;
  sha256: string;
  size: number;
}

/**
 * One HTTPS exchange with a hosted server's upload service: the URL's host name is its TLS
 * name, and `address` (a loopback or project address) is where the TCP connection goes.
 */
function https(method: 'PUT' | 'GET', url: string, address: string, ca: string[], body?: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: address, servername: target.hostname, port: Number(target.port), path: `${target.pathname}${target.search}`, method, ca, headers: { ...headers, host: target.host }, timeout: 15_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer within 15 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Asks `upload.<domain>` for a slot and PUTs `size` random bytes into it. */
export async function uploadRandomFile(session: XmppSession, domain: string, address: string, ca: string[], name: string, size: number): Promise<UploadedFile> {
  const content = randomBytes(size);
  const answer = await session.xmpp.iqCaller.request(
    xml('iq', { type: 'get', to: `upload.${domain}` }, xml('request', { xmlns: NS_UPLOAD, filename: name, size: String(size), 'content-type': 'application/octet-stream' })),
    15_000,
  );
  const slot = answer.getChild('slot', NS_UPLOAD);
  const put = slot?.getChild('put');
  const getUrl = slot?.getChild('get')?.attrs.url;
  if (!put?.attrs.url || !getUrl) throw new Error(`no upload slot: ${answer.toString()}`);
  const headers = Object.fromEntries(put.getChildren('header').map((h) => [String(h.attrs.name), h.getText()]));
  const sent = await https('PUT', String(put.attrs.url), address, ca, content, { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(size) });
  if (sent.status !== 201 && sent.status !== 200) throw new Error(`PUT ${String(put.attrs.url)}: ${sent.status} ${sent.body.toString('utf8').slice(0, 200)}`);
  return { getUrl: String(getUrl), sha256: createHash('sha256').update(content).digest('hex'), size };
}

/** Whether the file is served at its link, byte for byte. */
export async function uploadIntact(file: UploadedFile, address: string, ca: string[]): Promise<boolean> {
  const got = await https('GET', file.getUrl, address, ca).catch(() => undefined);
  return got?.status === 200 && createHash('sha256').update(got.body).digest('hex') === file.sha256;
}
