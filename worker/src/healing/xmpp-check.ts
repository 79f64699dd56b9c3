import { connect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { assertDomain } from '../contracts/domain-name.js';

const MAX_RESPONSE_BYTES = 64 * 1024;
const STARTTLS = /<starttls\s[^>]*xmlns=(['"])urn:ietf:params:xml:ns:xmpp-tls\1/;
const PROCEED = /<proceed\s[^>]*xmlns=(['"])urn:ietf:params:xml:ns:xmpp-tls\1/;

export type XmppCheck = { answers: true; certificateSerial: string | null } | { answers: false; reason: string };

/**
 * The reconciler's cheap look at a server: one c2s stream, STARTTLS, and the serial of the
 * certificate it presents (no login, no chain check: only "does it answer, and with what").
 */
export function checkXmpp(options: { host: string; port: number; domain: string; timeoutMs: number }): Promise<XmppCheck> {
  const domain = assertDomain(options.domain);
  return new Promise((resolve) => {
    const socket = connect({ host: options.host, port: options.port });
    let tls: TLSSocket | undefined;
    let received = '';
    let settled = false;
    const finish = (result: XmppCheck) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Only error handlers are added, never all listeners removed: the TLS socket keeps its
      // own listeners on the TCP socket, and pulling them out from under it crashes the process.
      for (const s of [tls, socket]) {
        if (!s) continue;
        s.on('error', () => undefined);
        s.destroy();
      }
      resolve(result);
    };
    const timer = setTimeout(() => finish({ answers: false, reason: `no answer within ${options.timeoutMs} ms` }), options.timeoutMs);
    socket.on('connect', () => {
      socket.write(`<?xml version='1.0'?><stream:stream to='${domain}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`);
    });
    const onData = (chunk: Buffer) => {
      received += chunk.toString('utf8');
      if (received.length > MAX_RESPONSE_BYTES) return finish({ answers: false, reason: 'oversized stream header' });
      const streamError = /<stream:error>\s*<([a-z-]+)/.exec(received);
      if (streamError) return finish({ answers: false, reason: `stream error from the server: ${streamError[1]}` });
      if (PROCEED.test(received)) return upgrade();
      if (/<\/stream:features>|<stream:features\s*\/>/.test(received)) {
        if (!STARTTLS.test(received)) return finish({ answers: false, reason: 'the server does not offer STARTTLS' });
        received = '';
        socket.write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
      }
    };
    const onClose = () => finish({ answers: false, reason: received ? 'connection closed during the stream opening' : 'connection closed at once' });
    socket.on('data', onData);
    socket.on('error', (error) => finish({ answers: false, reason: error.message }));
    // docker-proxy accepts connections before Prosody listens, then closes them.
    socket.on('close', onClose);
    const upgrade = () => {
      socket.off('data', onData);
      socket.off('close', onClose);
      // Identity is not checked here: the point is to read which certificate is served.
      tls = tlsConnect({ socket, servername: domain, rejectUnauthorized: false });
      tls.on('secureConnect', () => finish({ answers: true, certificateSerial: tls?.getPeerCertificate().serialNumber ?? null }));
      tls.on('error', (error: Error) => finish({ answers: false, reason: `TLS failed: ${error.message}` }));
    };
  });
}
