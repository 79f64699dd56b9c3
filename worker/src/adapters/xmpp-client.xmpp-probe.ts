import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { client, xml, type Client, type Element } from '@xmpp/client';
import { assertDomain } from '../contracts/domain-name.js';
import { XmppProbeError, type XmppLoginRequest, type XmppLoginResult, type XmppProbe } from '../ports/xmpp-probe.js';

const NS_STREAM = 'http://etherx.jabber.org/streams';
const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
const MAX_PRE_TLS_BYTES = 64 * 1024;

/** An authenticated session; `close` ends the stream and the socket and never throws. */
export interface XmppSession {
  jid: string;
  xmpp: Client;
  /** Namespaces of the stream features the server offered this session (sm, csi, ...). */
  streamFeatures: string[];
  close(): Promise<void>;
}

/**
 * Logs in the way a careful client does: STARTTLS, the certificate verified against the given
 * roots and the XMPP domain (not the host connected to), SASL, resource binding.
 *
 * @xmpp/client's own STARTTLS step cannot be given roots or a server name, so the stream is
 * opened and upgraded here with node:tls, and the verified TLS socket is handed to the client
 * as if it had connected with direct TLS; the client then restarts the stream over it, as
 * RFC 6120 requires after TLS.
 */
export async function openXmppSession(request: XmppLoginRequest & { resource?: string; preferPlain?: boolean }): Promise<XmppSession> {
  const domain = assertDomain(request.domain);
  const deadline = Date.now() + request.timeoutMs;
  const remaining = () => Math.max(1, deadline - Date.now());
  const tlsSocket = await startTls(request.host, request.port, domain, request.trustedCaPems, remaining());

  const xmpp = client({
    service: `xmpps://${request.host}:${request.port}`,
    domain,
    // PLAIN is only ever sent over the TLS socket verified above. The probe prefers it: this
    // library's SCRAM runs every PBKDF2 round through WebCrypto (~600 ms of the worker's time per
    // login), where the server checks PLAIN natively.
    credentials: (authenticate, mechanisms) =>
      authenticate(
        { username: request.username, password: request.password },
        request.preferPlain && mechanisms.includes('PLAIN') ? 'PLAIN' : (mechanisms[0] ?? 'SCRAM-SHA-1'),
      ),
    resource: request.resource ?? 'parley-probe',
    timeout: Math.min(5_000, remaining()),
  });
  // A probe must not quietly reconnect: one attempt, one verdict.
  xmpp.reconnect.stop();
  let lastError: unknown;
  xmpp.on('error', (error: unknown) => {
    lastError = error;
  });
  const streamFeatures = new Set<string>();
  xmpp.on('nonza', (element: Element) => {
    if (!element.is('features', NS_STREAM)) return;
    for (const child of element.children) {
      if (typeof child !== 'string' && child.attrs.xmlns) streamFeatures.add(child.attrs.xmlns);
    }
  });
  usePreparedSocket(xmpp, tlsSocket);

  const close = async () => {
    try {
      await withTimeout(xmpp.stop(), 2_000, 'closing the stream');
    } catch {
      // The socket goes below either way.
    }
    tlsSocket.destroy();
  };

  try {
    const address = await withTimeout(xmpp.start(), remaining(), `login as ${request.username}@${domain}`);
    return { jid: address.toString(), xmpp, streamFeatures: [...streamFeatures], close };
  } catch (error) {
    await close();
    throw classifyLoginError(error, lastError, `${request.username}@${domain}`);
  }
}

export class XmppClientProbe implements XmppProbe {
  async login(request: XmppLoginRequest): Promise<XmppLoginResult> {
    const domain = assertDomain(request.domain);
    const deadline = Date.now() + request.timeoutMs;
    const session = await openXmppSession({ ...request, preferPlain: true });
    try {
      const remaining = () => Math.max(1, deadline - Date.now());
      const bareJid = session.jid.split('/')[0] ?? session.jid;
      // Server features live on the domain, the account's (MAM, PEP) on the bare JID, and
      // SM and CSI only in the stream features.
      const serverInfo = await discoQuery(session.xmpp, domain, NS_DISCO_INFO, remaining());
      const accountInfo = await discoQuery(session.xmpp, bareJid, NS_DISCO_INFO, remaining());
      const items = await discoQuery(session.xmpp, domain, NS_DISCO_ITEMS, remaining());
      const features = new Set([...featuresOf(serverInfo), ...featuresOf(accountInfo), ...session.streamFeatures]);
      return {
        jid: session.jid,
        features: [...features].sort(),
        items: items.getChildren('item').flatMap((i) => (i.attrs.jid ? [i.attrs.jid] : [])).sort(),
      };
    } finally {
      await session.close();
    }
  }
}

function featuresOf(query: Element): string[] {
  return query.getChildren('feature').flatMap((f) => (f.attrs.var ? [f.attrs.var] : []));
}

async function discoQuery(xmpp: Client, to: string, xmlns: string, timeoutMs: number): Promise<Element> {
  let reply: Element;
  try {
    reply = await xmpp.iqCaller.request(xml('iq', { type: 'get', to }, xml('query', { xmlns })), timeoutMs);
  } catch (error) {
    throw new XmppProbeError('protocol', `service discovery (${xmlns}) on ${to} failed: ${describe(error)}`);
  }
  const query = reply.getChild('query', xmlns);
  if (!query) throw new XmppProbeError('protocol', `service discovery (${xmlns}) on ${to} returned no query`);
  return query;
}

/** Opens a c2s stream, negotiates STARTTLS and verifies the certificate for `domain`. */
async function startTls(host: string, port: number, domain: string, trustedCaPems: string[] | undefined, timeoutMs: number): Promise<TLSSocket> {
  const plain = connect({ host, port });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    plain.destroy();
  }, timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      plain.once('connect', resolve);
      plain.once('error', (error) => reject(new XmppProbeError('connect', `cannot connect to ${host}:${port}: ${error.message}`)));
      plain.once('close', () => reject(new XmppProbeError('connect', `cannot connect to ${host}:${port}`)));
    });
    plain.write(`<?xml version='1.0'?><stream:stream to='${domain}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`);
    const features = await readUntil(plain, /<\/stream:features>|<stream:features\s*\/>|<stream:error>[\s\S]*<\/stream:error>/);
    const streamError = /<stream:error>\s*<([a-z-]+)/.exec(features);
    if (streamError) throw new XmppProbeError('protocol', `${host}:${port} refused the stream for ${domain}: ${streamError[1]}`);
    if (!new RegExp(`<starttls\\s[^>]*xmlns=(['"])${NS_TLS}\\1`).test(features)) {
      throw new XmppProbeError('protocol', `${host}:${port} does not offer STARTTLS for ${domain}`);
    }
    plain.write(`<starttls xmlns='${NS_TLS}'/>`);
    const answer = await readUntil(plain, /<proceed[\s/>]|<failure[\s/>]/);
    if (!answer.includes('<proceed')) throw new XmppProbeError('protocol', `${host}:${port} refused STARTTLS`);

    const secure = tlsConnect({
      socket: plain,
      servername: domain,
      // undefined keeps Node's bundled roots
      ca: trustedCaPems,
      minVersion: 'TLSv1.2',
    });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', (error: NodeJS.ErrnoException) => reject(classifyTlsError(error, domain)));
      plain.once('close', () => reject(new XmppProbeError('tls', `${host}:${port} closed the connection during the TLS handshake`)));
    });
    return secure;
  } catch (error) {
    plain.destroy();
    if (timedOut) throw new XmppProbeError('timeout', `no TLS session with ${domain} at ${host}:${port} within ${timeoutMs} ms`);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Reads the plain-text stream until `pattern` matches what has arrived. */
function readUntil(socket: Socket, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.toString('utf8');
      if (pattern.test(received)) {
        cleanup();
        resolve(received);
      } else if (received.length > MAX_PRE_TLS_BYTES) {
        cleanup();
        reject(new XmppProbeError('protocol', 'oversized answer before TLS'));
      }
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new XmppProbeError('connect', error.message));
    };
    const onClose = () => {
      cleanup();
      reject(new XmppProbeError('connect', `connection closed before TLS; received: ${received.slice(0, 200) || '(nothing)'}`));
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
}

function classifyTlsError(error: NodeJS.ErrnoException, domain: string): XmppProbeError {
  const code = error.code ?? '';
  // Chain, name and validity failures: a certificate problem, said as such (not a timeout).
  if (/CERT|SELF_SIGNED|UNABLE_TO|ISSUER|ALTNAME|EXPIRED/.test(code)) {
    return new XmppProbeError('tls', `certificate for ${domain} not trusted: ${error.message} (${code})`);
  }
  return new XmppProbeError('tls', `TLS with ${domain} failed: ${error.message}${code ? ` (${code})` : ''}`);
}

function classifyLoginError(error: unknown, emitted: unknown, jid: string): XmppProbeError {
  if (error instanceof XmppProbeError) return error;
  const cause = emitted ?? error;
  const name = cause instanceof Error ? cause.name : '';
  if (name === 'SASLError') return new XmppProbeError('auth', `login refused for ${jid}: ${describe(cause)}`);
  if (name === 'StreamError') return new XmppProbeError('protocol', `stream error while logging in as ${jid}: ${describe(cause)}`);
  return new XmppProbeError('protocol', `login as ${jid} failed: ${describe(error)}`);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const condition = 'condition' in error && typeof error.condition === 'string' ? error.condition : '';
    const text = 'text' in error && typeof error.text === 'string' ? error.text : '';
    return [condition, text, condition ? '' : error.message].filter(Boolean).join(': ') || error.name;
  }
  return String(error);
}

/** Makes the client's xmpps transport use our verified socket instead of dialling. */
function usePreparedSocket(xmpp: Client, tlsSocket: TLSSocket): void {
  const direct = xmpp.transports.find((transport) => {
    try {
      return transport.prototype.socketParameters('xmpps://probe.invalid:5223') !== undefined;
    } catch {
      return false;
    }
  });
  if (!direct) throw new Error('@xmpp/client has no direct TLS transport');
  const BaseSocket = direct.prototype.Socket;
  class PreparedSocket extends BaseSocket {
    connect(): void {
      this._attachSocket(tlsSocket);
      // The handshake is already done: report the connection on the next turn, as a fresh
      // socket would.
      setImmediate(() => this.emit('connect'));
    }
  }
  class PreparedTransport extends direct {}
  PreparedTransport.prototype.Socket = PreparedSocket;
  xmpp.transports.unshift(PreparedTransport);
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new XmppProbeError('timeout', `${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
