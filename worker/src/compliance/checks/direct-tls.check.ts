import { connect, type TLSSocket } from 'node:tls';
import { CheckFailure, failed, passed, type ComplianceCheck } from '../compliance-check.js';

const ALPN = 'xmpp-client';
const MAX_BYTES = 64 * 1024;

/** Opens TLS to the direct TLS port as XEP-0368 clients do: SNI = the domain, ALPN xmpp-client, the chain verified. */
function directTls(host: string, port: number, domain: string, ca: string[] | undefined, waitMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, servername: domain, ALPNProtocols: [ALPN], ca, minVersion: 'TLSv1.2' });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new CheckFailure('timeout', `no TLS session with ${host}:${port} within ${waitMs} ms`));
    }, waitMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (error: Error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Writes the stream header and reads until the stream features (or an error) arrive. */
function streamFeatures(socket: TLSSocket, domain: string, waitMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const timer = setTimeout(() => done(new CheckFailure('no_stream_features', `no stream features within ${waitMs} ms; received: ${received.slice(0, 200) || '(nothing)'}`)), waitMs);
    const done = (error?: Error) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (error) reject(error);
      else resolve(received);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.toString('utf8');
      if (/<\/stream:features>|<stream:features\s*\/>|<\/stream:error>/.test(received)) done();
      else if (received.length > MAX_BYTES) done(new CheckFailure('no_stream_features', 'oversized answer before the stream features'));
    };
    const onClose = () => done(new CheckFailure('no_stream_features', `closed before the stream features; received: ${received.slice(0, 200) || '(nothing)'}`));
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.write(`<?xml version='1.0'?><stream:stream to='${domain}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`);
  });
}

/** XEP-0368: TLS from the first byte on the direct TLS port, the name and chain verified, ALPN xmpp-client selected, then a stream. */
export const directTlsCheck: ComplianceCheck = {
  id: 'xep0368-direct-tls',
  run: async ({ target, waitMs }) => {
    const socket = await directTls(target.host, target.ports.c2sDirectTls, target.domain, target.trustedCaPems, waitMs);
    try {
      if (socket.alpnProtocol !== ALPN) return failed('alpn_not_selected', `the server selected ALPN ${socket.alpnProtocol === false ? 'none' : String(socket.alpnProtocol)}, not ${ALPN}`);
      const features = await streamFeatures(socket, target.domain, waitMs);
      if (features.includes('<stream:error')) return failed('stream_refused', `the stream was refused: ${features.slice(0, 300)}`);
      if (!/<mechanisms\s[^>]*urn:ietf:params:xml:ns:xmpp-sasl/.test(features)) return failed('no_sasl', 'the stream features offer no SASL mechanisms');
      return passed(`${socket.getProtocol() ?? 'TLS'} on port ${target.ports.c2sDirectTls}, ALPN ${ALPN}, certificate verified for ${target.domain}, SASL offered`);
    } finally {
      socket.destroy();
    }
  },
};
